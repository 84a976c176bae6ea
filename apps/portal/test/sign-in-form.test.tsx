import type { Reason } from "@neosc/core/errors";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { SignInForm, type SignInValues, validateSignIn } from "../src/areas/auth/sign-in-form.tsx";
import { apiFailure, refusal } from "./support/api-failure.ts";

/** What a TRPCClientError carries for a domain refusal (the shape the API's formatter writes). */
function refused(reason: Reason, code = "UNAUTHORIZED", httpStatus = 401) {
  return apiFailure(reason, { code, httpStatus, domain: refusal(reason), zod: null });
}

function field(name: RegExp) {
  return screen.getByLabelText(name) as HTMLInputElement;
}

describe("validateSignIn", () => {
  it("asks for both fields and a plausible email", () => {
    expect(validateSignIn("", "")).toEqual({
      email: ["Enter your email address"],
      password: ["Enter your password"],
    });
    expect(validateSignIn("not-an-email", "x")).toEqual({ email: ["Enter a valid email address"] });
    expect(validateSignIn(" ada@example.com ", "secret")).toEqual({});
  });
});

describe("SignInForm", () => {
  it("shows field errors and does not call the API when the form is incomplete", async () => {
    const login = vi.fn(async (_values: SignInValues) => {});
    render(<SignInForm login={login} />);
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(screen.getByText("Enter your email address")).toBeTruthy();
    expect(screen.getByText("Enter your password")).toBeTruthy();
    expect(field(/email/i).getAttribute("aria-invalid")).toBe("true");
    expect(login).not.toHaveBeenCalled();

    await userEvent.type(field(/email/i), "ada@");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(screen.getByText("Enter a valid email address")).toBeTruthy();
    expect(login).not.toHaveBeenCalled();
  });

  it("asks for the authenticator code when the API answers totp_required, then sends it", async () => {
    const login = vi.fn(async (values: SignInValues) => {
      if (values.totp === undefined) throw refused("totp_required");
    });
    render(<SignInForm login={login} />);
    await userEvent.type(field(/email/i), "Ada@Example.com");
    await userEvent.type(field(/password/i), "correct horse battery");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));

    const code = await screen.findByLabelText(/authentication code/i);
    expect(document.activeElement).toBe(code);
    expect(screen.queryByLabelText(/password/i)).toBeNull();
    expect(login).toHaveBeenLastCalledWith({ email: "ada@example.com", password: "correct horse battery" });

    await userEvent.click(screen.getByRole("button", { name: "Verify and sign in" }));
    expect(screen.getByText("Enter the six digits from your authenticator app")).toBeTruthy();
    expect(login).toHaveBeenCalledTimes(1);

    await userEvent.type(code, "12a3456");
    expect((code as HTMLInputElement).value).toBe("123456");
    await userEvent.click(screen.getByRole("button", { name: "Verify and sign in" }));
    expect(login).toHaveBeenLastCalledWith({
      email: "ada@example.com",
      password: "correct horse battery",
      totp: "123456",
    });
  });

  it("puts a wrong code on the code field and keeps the second step", async () => {
    const login = vi.fn(async (values: SignInValues) => {
      throw refused(values.totp === undefined ? "totp_required" : "invalid_totp");
    });
    render(<SignInForm login={login} />);
    await userEvent.type(field(/email/i), "ada@example.com");
    await userEvent.type(field(/password/i), "pw");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    const code = await screen.findByLabelText(/authentication code/i);
    await userEvent.type(code, "000000");
    await userEvent.click(screen.getByRole("button", { name: "Verify and sign in" }));
    expect(await screen.findByText(/not right or has expired/)).toBeTruthy();
    expect(screen.getByLabelText(/authentication code/i).getAttribute("aria-invalid")).toBe("true");
  });

  it("explains other refusals in words", async () => {
    const login = vi.fn(async () => {
      throw refused("invalid_credentials");
    });
    render(<SignInForm login={login} />);
    await userEvent.type(field(/email/i), "ada@example.com");
    await userEvent.type(field(/password/i), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("The email or password is not right.");
  });

  it("says how long to wait when throttled", async () => {
    const login = vi.fn(async () => {
      throw apiFailure("slow down", {
        code: "TOO_MANY_REQUESTS",
        httpStatus: 429,
        domain: refusal("throttled", { scope: "account" }, 120),
        zod: null,
      });
    });
    render(<SignInForm login={login} />);
    await userEvent.type(field(/email/i), "ada@example.com");
    await userEvent.type(field(/password/i), "pw");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Please wait 2 minutes and try again.");
  });
});
