import { createBrowserRouter, Outlet, type RouteObject } from "react-router";
import { PageLoading } from "../components/ui/feedback.tsx";
import { NotFoundPage, RouteErrorPage } from "./route-error.tsx";

/**
 * Every area is a lazy route, so the sign-in page downloads only the shell, the router and the
 * sign-in form; the signed-in app and the admin area arrive when first visited.
 */
export const routes: RouteObject[] = [
  {
    path: "/",
    element: <Outlet />,
    hydrateFallbackElement: <PageLoading />,
    errorElement: <RouteErrorPage />,
    children: [
      {
        path: "sign-in",
        lazy: async () => ({ Component: (await import("../areas/auth/sign-in-page.tsx")).SignInPage }),
      },
      {
        path: "register",
        lazy: async () => ({ Component: (await import("../areas/auth/register-page.tsx")).RegisterPage }),
      },
      {
        path: "auth/callback",
        lazy: async () => ({
          Component: (await import("../areas/auth/sso-callback-page.tsx")).SsoCallbackPage,
        }),
      },
      {
        path: "change-password",
        lazy: async () => ({
          Component: (await import("../areas/auth/change-password-page.tsx")).ChangePasswordPage,
        }),
      },
      {
        lazy: async () => ({ Component: (await import("../areas/shell/app-shell.tsx")).AppShell }),
        children: [
          {
            index: true,
            lazy: async () => ({ Component: (await import("../areas/home/home-page.tsx")).HomePage }),
          },
          {
            path: "sessions",
            lazy: async () => ({
              Component: (await import("../areas/sessions/sessions-page.tsx")).SessionsPage,
            }),
          },
          {
            path: "workspace/:sessionId",
            lazy: async () => ({
              Component: (await import("../areas/sessions/session-view-page.tsx")).SessionViewPage,
            }),
          },
          {
            path: "account",
            lazy: async () => ({
              Component: (await import("../areas/account/account-page.tsx")).AccountPage,
            }),
          },
          {
            path: "admin",
            lazy: async () => ({ Component: (await import("../areas/admin/admin-layout.tsx")).AdminLayout }),
            children: [
              {
                index: true,
                lazy: async () => ({
                  Component: (await import("../areas/admin/admin-layout.tsx")).AdminIndex,
                }),
              },
              {
                path: "workspaces",
                lazy: async () => ({
                  Component: (await import("../areas/admin/workspaces-page.tsx")).WorkspacesAdminPage,
                }),
              },
              {
                path: "service-accounts",
                lazy: async () => ({
                  Component: (await import("../areas/admin/service-accounts-page.tsx")).ServiceAccountsPage,
                }),
              },
              {
                path: "policies",
                lazy: async () => ({
                  Component: (await import("../areas/admin/policies-page.tsx")).PoliciesPage,
                }),
              },
              {
                path: "audit",
                lazy: async () => ({ Component: (await import("../areas/admin/audit-page.tsx")).AuditPage }),
              },
              {
                path: "users",
                lazy: async () => ({ Component: (await import("../areas/admin/users-page.tsx")).UsersPage }),
              },
              {
                path: "organizations",
                lazy: async () => ({
                  Component: (await import("../areas/admin/organizations-page.tsx")).OrganizationsPage,
                }),
              },
              {
                path: "watch/:sessionId",
                lazy: async () => ({
                  Component: (await import("../areas/admin/watch-page.tsx")).WatchPage,
                }),
              },
              {
                path: "recordings/:sessionId",
                lazy: async () => ({
                  Component: (await import("../areas/admin/replay-page.tsx")).ReplayPage,
                }),
              },
              {
                path: "stats",
                lazy: async () => ({ Component: (await import("../areas/admin/stats-page.tsx")).StatsPage }),
              },
            ],
          },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];

export function createAppRouter() {
  return createBrowserRouter(routes);
}
