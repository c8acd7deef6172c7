// The API Lambda's entry (handler "index.handler" in api.zip): the HTTP app on a function URL
// with response streaming. Built once per container, during the init phase.
import { loadConfig } from "../config.js";
import { buildApiApp } from "./api-app.js";
import { buildLambdaDeps } from "./deps.js";
import { type AwsLambdaStreamingGlobal, streamingHandler } from "./stream.js";

declare const awslambda: AwsLambdaStreamingGlobal;

export const handler = streamingHandler(
  buildApiApp(buildLambdaDeps(loadConfig(), { functionLabel: "api" })),
  awslambda,
);
