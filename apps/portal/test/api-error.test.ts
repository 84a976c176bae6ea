import { describe, expect, it } from "vitest";
import { readApiError, serverFieldErrors } from "../src/lib/api-error.ts";
import { parseRuntimeConfig } from "../src/lib/config.ts";
import { apiFailure, refusal } from "./support/api-failure.ts";

describe("readApiError", () => {
  it("reads the formatter's domain and zod blocks", () => {
    const error = apiFailure("Invalid input: slug", {
      code: "BAD_REQUEST",
      httpStatus: 400,
      domain: null,
      zod: { formErrors: [], fieldErrors: { "patch.slug": ["lower-case letters, digits and dashes"] } },
    });
    expect(readApiError(error)).toEqual({
      message: "Invalid input: slug",
      code: "BAD_REQUEST",
      domain: null,
      fieldErrors: { "patch.slug": ["lower-case letters, digits and dashes"] },
      formErrors: [],
    });
  });

  it("ignores unknown reasons and malformed data", () => {
    const odd = Object.assign(new Error("x"), { data: { domain: { reason: "made_up" }, zod: "nope" } });
    expect(readApiError(odd).domain).toBeNull();
    expect(readApiError(odd).fieldErrors).toEqual({});
    expect(readApiError("boom").message).toMatch(/Something went wrong/);
  });

  it("puts a refusal that names a field on that field, without the wrapper", () => {
    const error = readApiError(
      apiFailure("duplicate", {
        code: "CONFLICT",
        httpStatus: 409,
        domain: refusal("duplicate", { field: "slug" }),
        zod: null,
      }),
    );
    expect(serverFieldErrors(error, () => "taken", "patch.")).toEqual({ slug: ["taken"] });
  });
});

describe("parseRuntimeConfig", () => {
  it("defaults to the same origin and no SSO override", () => {
    expect(parseRuntimeConfig(null)).toEqual({ apiBaseUrl: "", sso: null });
    expect(parseRuntimeConfig({ apiBaseUrl: 42 })).toEqual({ apiBaseUrl: "", sso: null });
  });

  it("trims the API base and reads SSO settings", () => {
    expect(
      parseRuntimeConfig({
        apiBaseUrl: "https://api.portal.example.com/",
        sso: { issuer: "https://manager.example.com", clientId: "123@neosc", scopes: ["openid", 7, "email"] },
      }),
    ).toEqual({
      apiBaseUrl: "https://api.portal.example.com",
      sso: { issuer: "https://manager.example.com", clientId: "123@neosc", scopes: ["openid", "email"] },
    });
    expect(parseRuntimeConfig({ sso: { issuer: "", clientId: "x" } }).sso).toBeNull();
  });
});
