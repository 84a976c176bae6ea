import type { User } from "@neosc/core/user";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { PasswordConfirmForm, RecoveryCodesPanel } from "../src/areas/account/mfa-section.tsx";
import { ResetMfaDialog } from "../src/areas/admin/reset-mfa-dialog.tsx";
import { SignInForm, type SignInValues } from "../src/areas/auth/sign-in-form.tsx";
import { StepUpDialog, type StepUpInput } from "../src/features/mfa/step-up-dialog.tsx";
import { apiFailure, refusal } from "./support/api-failure.ts";

function wrongCode() {
  return apiFailure("invalid_totp", {
    code: "BAD_REQUEST",
    httpStatus: 400,
    domain: refusal("invalid_totp", { field: "code" }),
    zod: null,
  });
}

describe("StepUpDialog", () => {
  it("asks for a code on the launch, keeps a wrong one on the field, then verifies", async () => {
    let attempts = 0;
    const verify = vi.fn(async (_input: StepUpInput) => {
      attempts += 1;
      if (attempts === 1) throw wrongCode();
    });
    render(<StepUpDialog workspaceName="Vault" verify={verify} onCancel={() => {}} />);
    const dialog = screen.getByRole("dialog", { name: "Confirm it's you" });
    expect(dialog.textContent).toContain("Vault needs a sign-in with two factors");
    const code = within(dialog).getByLabelText("Code from your authenticator app");
    expect(document.activeElement).toBe(code);

    await userEvent.click(within(dialog).getByRole("button", { name: "Verify and launch" }));
    expect(dialog.textContent).toContain("Enter the six digits from your authenticator app");
    expect(verify).not.toHaveBeenCalled();

    await userEvent.type(code, "123456");
    await userEvent.click(within(dialog).getByRole("button", { name: "Verify and launch" }));
    expect(verify).toHaveBeenLastCalledWith({ code: "123456" });
    expect(await within(dialog).findByText(/That code is not right or has expired/)).toBeTruthy();

    await userEvent.type(code, "654321");
    await userEvent.click(within(dialog).getByRole("button", { name: "Verify and launch" }));
    expect(verify).toHaveBeenLastCalledWith({ code: "654321" });
  });

  it("takes a recovery code instead, folded to what the API stores", async () => {
    const verify = vi.fn(async (_input: StepUpInput) => {});
    render(<StepUpDialog workspaceName="Vault" verify={verify} onCancel={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Use a recovery code" }));
    await userEvent.type(screen.getByLabelText("Recovery code"), "ABCDE-23456");
    await userEvent.click(screen.getByRole("button", { name: "Verify and launch" }));
    expect(verify).toHaveBeenCalledWith({ recoveryCode: "abcde23456" });
  });

  it("stays closed without a workspace, and cancelling says so", async () => {
    const onCancel = vi.fn();
    const { rerender } = render(
      <StepUpDialog workspaceName={null} verify={async () => {}} onCancel={onCancel} />,
    );
    expect(screen.queryByRole("dialog")).toBeNull();
    rerender(<StepUpDialog workspaceName="Vault" verify={async () => {}} onCancel={onCancel} />);
    await userEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(onCancel).toHaveBeenCalledTimes(1);
  });
});

describe("second factor on the account page", () => {
  it("shows the ten recovery codes once, until the person says they saved them", async () => {
    const codes = Array.from({ length: 10 }, (_, index) => `abcd${index}-efgh${index}`);
    const onDone = vi.fn();
    render(<RecoveryCodesPanel codes={codes} onDone={onDone} />);
    const list = screen.getByRole("list", { name: "Recovery codes" });
    expect(
      within(list)
        .getAllByRole("listitem")
        .map((item) => item.textContent),
    ).toEqual(codes);
    expect(screen.getByText(/shown only this once/)).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "I have saved them" }));
    expect(onDone).toHaveBeenCalledTimes(1);
  });

  it("asks for the password again and puts a wrong one on the field", async () => {
    const onSubmit = vi.fn(async (_password: string) => {
      throw apiFailure("invalid_credentials", {
        code: "FORBIDDEN",
        httpStatus: 403,
        domain: refusal("invalid_credentials", { field: "password" }),
        zod: null,
      });
    });
    render(<PasswordConfirmForm submitLabel="Continue" onSubmit={onSubmit} onCancel={() => {}} />);
    await userEvent.click(screen.getByRole("button", { name: "Continue" }));
    expect(screen.getByText("Enter your password")).toBeTruthy();
    expect(onSubmit).not.toHaveBeenCalled();
    await userEvent.type(screen.getByLabelText("Your password"), "not it");
    await userEvent.click(screen.getByRole("button", { name: "Continue" }));
    expect(onSubmit).toHaveBeenCalledWith("not it");
    expect(await screen.findByText("That password is not right")).toBeTruthy();
  });
});

describe("sign-in with a recovery code", () => {
  it("switches the second step to a recovery code and sends it in place of the TOTP code", async () => {
    const login = vi.fn(async (values: SignInValues) => {
      if (values.totp === undefined && values.recoveryCode === undefined)
        throw apiFailure("totp_required", {
          code: "UNAUTHORIZED",
          httpStatus: 401,
          domain: refusal("totp_required"),
          zod: null,
        });
    });
    render(<SignInForm login={login} />);
    await userEvent.type(screen.getByLabelText(/email/i), "ada@example.com");
    await userEvent.type(screen.getByLabelText(/password/i), "pw");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await screen.findByLabelText("Authentication code");
    await userEvent.click(screen.getByRole("button", { name: "Use a recovery code" }));
    await userEvent.type(screen.getByLabelText("Recovery code"), "k7qmx-p2rtz");
    await userEvent.click(screen.getByRole("button", { name: "Verify and sign in" }));
    expect(login).toHaveBeenLastCalledWith({
      email: "ada@example.com",
      password: "pw",
      recoveryCode: "k7qmxp2rtz",
    });
  });
});

describe("ResetMfaDialog", () => {
  it("says what a reset does and confirms for that person", async () => {
    const user = { id: "u1", email: "mira@example.test" } as User;
    const onConfirm = vi.fn();
    render(<ResetMfaDialog user={user} pending={false} onCancel={() => {}} onConfirm={onConfirm} />);
    const dialog = screen.getByRole("alertdialog", { name: "Reset the second factor?" });
    expect(dialog.textContent).toContain("mira@example.test's authenticator and recovery codes stop working");
    expect(dialog.textContent).toContain("signed out everywhere");
    await userEvent.click(within(dialog).getByRole("button", { name: "Reset second factor" }));
    expect(onConfirm).toHaveBeenCalledWith(user);
  });
});
