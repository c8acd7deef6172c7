// GET /openapi.json: OpenAPI 3.1 built from the same zod schemas the routes validate with.
import { z } from "zod";
import { ERROR_STATUS } from "../core/errors.js";
import { planJsonSchema } from "../core/operations.js";
import {
  EditOptionsSchema,
  EditRequestSchema,
  ImageRefSchema,
  LocalSignInSchema,
  ParseRequestSchema,
} from "../service/schemas.js";

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType): Json {
  const out = z.toJSONSchema(s, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as Json;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ "application/json": { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref("Error")) });
const bearer = [{ bearerAuth: [] }];

export function openApiDocument(opts: { version?: string; serverUrl?: string } = {}): Json {
  const editRequest = schemaOf(EditRequestSchema);
  // The plan is the catalog's schema, with every operation's parameters.
  const props = editRequest.properties as Json;
  const op = props.operation as { oneOf?: Json[]; anyOf?: Json[] };
  for (const alt of op.oneOf ?? op.anyOf ?? []) {
    const p = alt.properties as Json | undefined;
    if (p?.operations) p.operations = ref("Plan");
  }
  const session = {
    type: "object",
    properties: {
      sessionId: { type: "string" },
      status: { enum: ["queued", "running", "completed", "partial", "failed"] },
      createdAt: { type: "string", format: "date-time" },
      updatedAt: { type: "string", format: "date-time" },
      expiresAt: { type: "string", format: "date-time" },
      version: { type: "integer" },
      command: { type: "string" },
      plan: ref("Plan"),
      steps: { type: "array", items: { type: "string" } },
      options: ref("EditOptions"),
      streamToken: { type: "string" },
      progressUrl: { type: "string" },
      images: {
        type: "array",
        items: {
          type: "object",
          properties: {
            id: { type: "string" },
            name: { type: "string" },
            sourceUrl: { type: "string" },
            status: { enum: ["queued", "fetching", "processing", "storing", "done", "failed"] },
            percent: { type: "number" },
            error: ref("ErrorBody"),
            result: {
              type: "object",
              properties: {
                url: { type: "string" },
                width: { type: "integer" },
                height: { type: "integer" },
                format: { type: "string" },
                bytes: { type: "integer" },
              },
            },
          },
        },
      },
    },
  };
  const idParam = { name: "id", in: "path", required: true, schema: { type: "string" } };
  return {
    openapi: "3.1.0",
    info: {
      title: "imgedit",
      version: opts.version ?? "0.1.0",
      description: "Edit images with a plain-English command or a JSON plan; progress streams as Server-Sent Events.",
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    components: {
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        EditRequest: editRequest,
        ImageRef: schemaOf(ImageRefSchema),
        EditOptions: schemaOf(EditOptionsSchema),
        ParseRequest: schemaOf(ParseRequestSchema),
        LocalSignIn: schemaOf(LocalSignInSchema),
        Plan: (() => {
          const p = planJsonSchema();
          delete p.$schema;
          return p;
        })(),
        Session: session,
        ErrorBody: {
          type: "object",
          required: ["code", "message"],
          properties: {
            code: { enum: Object.keys(ERROR_STATUS) },
            message: { type: "string" },
            field: { type: "string" },
            details: { type: "object" },
          },
        },
        Error: { type: "object", required: ["error"], properties: { error: ref("ErrorBody") } },
      },
    },
    paths: {
      "/image-edit": {
        post: {
          summary: "Start an edit of up to MAX_IMAGES_PER_REQUEST images",
          security: bearer,
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description:
                "1-200 characters, per user: the same request sent again with the key answers the session it created (Idempotent-Replayed: true); another request with the key is refused (422 IDEMPOTENCY_KEY_REUSED)",
              schema: { type: "string", minLength: 1, maxLength: 200 },
            },
          ],
          requestBody: { required: true, content: json(ref("EditRequest")) },
          responses: {
            "202": { description: "Accepted: the session and where to follow it", content: json(session) },
            "400": errorResponse("Invalid input (field named)"),
            "401": errorResponse("Missing or bad token"),
            "409": errorResponse(
              "CONFLICT: the Idempotency-Key's first request is still being accepted (its images are being queued); send it again after Retry-After",
            ),
            "422": errorResponse(
              "Command not understood (COMMAND_NOT_UNDERSTOOD), or the Idempotency-Key was used before for a different request (IDEMPOTENCY_KEY_REUSED)",
            ),
            "429": errorResponse("Rate limited (Retry-After)"),
          },
        },
      },
      "/image-edit/parse": {
        post: {
          summary: "Dry run: a command to a plan",
          security: bearer,
          requestBody: { required: true, content: json(ref("ParseRequest")) },
          responses: {
            "200": {
              description: "The plan",
              content: json({
                type: "object",
                properties: {
                  plan: ref("Plan"),
                  steps: { type: "array", items: { type: "string" } },
                  source: { type: "string" },
                },
              }),
            },
            "422": errorResponse("Command not understood (unknown words, suggestions)"),
          },
        },
      },
      "/image-edit/progress/{id}": {
        get: {
          summary: "Server-Sent Events: progress, image, complete (ids = session versions; Last-Event-ID resumes)",
          security: [...bearer, {}],
          parameters: [
            idParam,
            { name: "token", in: "query", required: false, schema: { type: "string" }, description: "stream token" },
            { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description: "text/event-stream",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
            "404": errorResponse("No such session (or not yours)"),
          },
        },
      },
      "/image-edit/sessions": {
        get: {
          summary: "My sessions, newest first",
          security: bearer,
          parameters: [
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
            { name: "cursor", in: "query", schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description: "A page of sessions",
              content: json({
                type: "object",
                properties: { items: { type: "array", items: session }, nextCursor: { type: "string" } },
              }),
            },
          },
        },
      },
      "/image-edit/sessions/{id}": {
        get: {
          summary: "One session with signed result URLs",
          security: bearer,
          parameters: [idParam],
          responses: {
            "200": { description: "The session", content: json(session) },
            "404": errorResponse("Not found"),
          },
        },
        delete: {
          summary: "Delete a session and its files",
          security: bearer,
          parameters: [idParam],
          responses: { "204": { description: "Deleted" }, "404": errorResponse("Not found") },
        },
      },
      "/uploads": {
        post: {
          summary: "Upload an image (multipart field `file`, or a raw body with ?name=)",
          security: bearer,
          requestBody: {
            content: {
              "multipart/form-data": {
                schema: {
                  type: "object",
                  properties: { file: { type: "string", contentMediaType: "application/octet-stream" } },
                },
              },
              "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } },
            },
          },
          responses: {
            "201": {
              description: "Stored; use `url` in images[].url",
              content: json({
                type: "object",
                properties: {
                  id: { type: "string" },
                  url: { type: "string" },
                  name: { type: "string" },
                  bytes: { type: "integer" },
                  format: { type: "string" },
                  width: { type: "integer" },
                  height: { type: "integer" },
                  previewUrl: { type: "string" },
                },
              }),
            },
            "413": errorResponse("Too large"),
            "415": errorResponse("Not an image"),
          },
        },
      },
      "/files/{key}": {
        get: {
          summary: "Download a stored file through its signed URL",
          parameters: [
            { name: "key", in: "path", required: true, schema: { type: "string" } },
            { name: "exp", in: "query", required: true, schema: { type: "integer" } },
            { name: "sig", in: "query", required: true, schema: { type: "string" } },
          ],
          responses: { "200": { description: "The file" }, "403": errorResponse("Bad or expired signature") },
        },
      },
      "/auth/local": {
        post: {
          summary: "Local sign-in (local mode only): a token for a user name",
          requestBody: { content: json(ref("LocalSignIn")) },
          responses: {
            "200": {
              description: "A token",
              content: json({ type: "object", properties: { token: { type: "string" }, user: { type: "string" } } }),
            },
            "404": errorResponse("Local sign-in is off"),
          },
        },
      },
      "/auth/config": {
        get: {
          summary: "How the page signs in, and the limits a client checks before sending (no token needed)",
          responses: {
            "200": {
              description: "Settings",
              content: json({
                type: "object",
                required: ["localSignIn", "mode", "limits"],
                properties: {
                  localSignIn: { type: "boolean" },
                  mode: { enum: ["local", "jwks"], description: "How tokens are verified" },
                  limits: {
                    type: "object",
                    required: ["maxImageBytes", "maxUploadBytes", "maxImagesPerRequest", "formats"],
                    properties: {
                      maxImageBytes: { type: "integer", description: "Bytes per input image (MAX_IMAGE_SIZE)" },
                      maxUploadBytes: {
                        type: "integer",
                        description:
                          "The largest image POST /uploads can receive on this runtime: MAX_IMAGE_SIZE, or less where the platform caps request bodies (about 4.5 MB through a Lambda function URL); bigger images go by URL",
                      },
                      maxImagesPerRequest: {
                        type: "integer",
                        description: "Images in one POST /image-edit (MAX_IMAGES_PER_REQUEST)",
                      },
                      formats: {
                        type: "array",
                        items: { type: "string" },
                        description: "Input formats read (svg only where ALLOW_SVG is on)",
                      },
                    },
                  },
                },
              }),
            },
          },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "ok" } } } },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { description: "text exposition" } } } },
      "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } },
    },
  };
}
