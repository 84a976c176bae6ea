import { generateOpenApiDocument, type OpenAPIObject } from "trpc-to-openapi";
import { appRouter } from "./root.ts";

/**
 * The OpenAPI 3.1 description of the REST face (`REST_ROUTES`), generated from the procedures'
 * own zod schemas, so the document cannot drift from what the API accepts and answers.
 */
export function openApiDocument(options: { baseUrl: string; version: string }): OpenAPIObject {
  return generateOpenApiDocument(appRouter, {
    title: "NeoSC API",
    version: options.version,
    description:
      "The REST face of the NeoSC procedures: the same inputs, outputs, role gate, audit and errors as tRPC (`/trpc`). " +
      "Authenticate with `Authorization: Bearer <API token>` (create one on the portal's account page) or a session token from `POST /auth/login`. " +
      "Dates are ISO 8601 strings. Errors are `application/problem+json` with a stable `reason` and, for bad input, `fieldErrors` per field (as tRPC's `error.data.zod`).",
    baseUrl: options.baseUrl,
    securitySchemes: {
      bearer: {
        type: "http",
        scheme: "bearer",
        description: "An API token (`neosc_<id>.<secret>`) or a session token from POST /auth/login",
      },
    },
  });
}
