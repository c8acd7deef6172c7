// The deployment guide's stack, as CDK: processor + API functions (with `production` aliases, as
// on the failure recorder: `make rollback` moves them together),
// the sharp layer, the private results bucket, the sessions table, least-privilege roles, a
// dashboard and three alarms. Differences from the guide, on purpose:
//  - results are private (BLOCK_ALL, SSL only) and go out by presigned URL: no public-read policy;
//  - no s3:PutObjectAcl (objects are never made public), no ImageMagick layer (ImageMagick runs
//    as WebAssembly inside the processor bundle);
//  - lambda:InvokeFunction is granted to the API (the caller), not to the processor;
//  - a job Lambda gives up on (its process died or it threw on every delivery) goes to an
//    on-failure destination, a small function from the processor's bundle that marks the image
//    failed, so the session still completes (the guide would leave it in flight until its TTL);
//  - MaxMemoryUsed is not a CloudWatch metric: the processor reports its peak memory as an EMF
//    metric (imgedit/max_memory_used_bytes) and the memory widget and alarm use that;
//  - the versions a deploy replaces are kept, so the guide's rollback (move `production` to a
//    previous version) still has a version to move to after the next deploy; and every deploy
//    that changes what a function runs with (code, settings, the sharp layer, the JWT
//    parameters) publishes a new version for `production`, so none lands on $LATEST only.
import { existsSync } from "node:fs";
import path from "node:path";
import {
  Aspects,
  CfnOutput,
  CfnParameter,
  aws_cloudwatch as cw,
  Duration,
  aws_dynamodb as dynamodb,
  Fn,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Size,
  Stack,
  type StackProps,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  Tags,
} from "aws-cdk-lib";
import { LAMBDA_RECOGNIZE_LAYER_VERSION } from "aws-cdk-lib/cx-api";
import type { Construct } from "constructs";

export interface ImgeditStackProps extends StackProps {
  tableName?: string;
  /** Omit to let CloudFormation pick a globally unique name. */
  bucketName?: string;
  processorFunctionName?: string;
  apiFunctionName?: string;
  architecture?: "x86_64" | "arm64";
  /** "build": build/lambda/*.zip (must exist); "placeholder": stand-in code (offline synth, tests). */
  code?: "build" | "placeholder";
  /** Directory with api.zip, processor.zip, sharp-layer-<arch>.zip. */
  buildDir?: string;
  /** Keep the bucket and table when the stack is deleted (default true: they hold user data). */
  retainData?: boolean;
  sessionTtlDays?: number;
  /**
   * Node.js runtime of both functions (default nodejs20.x, as the guide says). AWS deprecated
   * nodejs20.x on 2026-04-30; the bundles and the sharp layer (Node-API) also run on 22.
   */
  runtime?: "nodejs20.x" | "nodejs22.x";
  /** Lambda async retries for a failed job (0-2). */
  jobRetries?: number;
  failureRecorderFunctionName?: string;
}

/** The alias every function runs behind (what `make rollback` moves). */
export const PRODUCTION_ALIAS = "production";

/** The guide's limits, shared by both functions. */
export const LIMITS_ENV = {
  MAX_IMAGE_SIZE: "26214400",
  MAX_DIMENSIONS: "10000",
  DEFAULT_QUALITY: "90",
  // glibc arenas fragment under libvips; Lambda reads the variable at process start.
  MALLOC_ARENA_MAX: "2",
} as const;

export const MEMORY_METRIC = { namespace: "imgedit", name: "max_memory_used_bytes" } as const;

/** 1.8 GB, the guide's memory alarm threshold (1887436800 bytes). */
export const MEMORY_ALARM_BYTES = 1_887_436_800;
/**
 * The guide alarms above 295 s of the 300 s timeout, but the processor stops itself 15 s before
 * the timeout (DEADLINE_MARGIN_MS in src/lambda/processor.ts) and returns, so its runs that ran out
 * of time end at ~285-290 s and a 295 s alarm would only see hard kills. 280 s sees both.
 */
export const TIMEOUT_ALARM_MS = 280_000;

/**
 * An on-failure destination that is one function's (or alias's) ARN, invocable by the source
 * function's role and by nothing wider: CDK's LambdaDestination grants `<arn>` and `<arn>:*`
 * (every version), but Lambda invokes only the ARN the destination names.
 */
class FunctionDestination implements lambda.IDestination {
  constructor(private readonly target: lambda.IFunction) {}

  bind(_scope: Construct, source: lambda.IFunction): lambda.DestinationConfig {
    // Lambda sends the record with the source's execution role; the same statement for the
    // function and its alias (one role) is written once.
    iam.Grant.addToPrincipal({
      grantee: source,
      actions: ["lambda:InvokeFunction"],
      resourceArns: [this.target.functionArn],
    });
    return { destination: this.target.functionArn };
  }
}

export class ImgeditStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly table: dynamodb.Table;
  readonly processor: lambda.Function;
  readonly api: lambda.Function;
  readonly processorAlias: lambda.Alias;
  /** The processor's on-failure destination: records the failure of a job Lambda gave up on. */
  readonly failureRecorder: lambda.Function;
  /** What the destination names: the recorder rolls back with the processor's bundle. */
  readonly failureRecorderAlias: lambda.Alias;
  readonly apiAlias: lambda.Alias;
  readonly functionUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: ImgeditStackProps = {}) {
    super(scope, id, props);
    // A version keeps the layer it was published with, and both aliases point at versions: a
    // deploy that changes only the sharp layer must publish new ones, or `production` keeps the
    // old layer. CDK leaves layers out of a version's identity unless this flag is on (before
    // any construct is added: it is read from the context).
    this.node.setContext(LAMBDA_RECOGNIZE_LAYER_VERSION, true);
    // Lambda publishes a version only from a function that changed since the last one: the
    // function's description names its version hash, so a new version always comes with a change
    // (also on the first deploy after the flag above changed the hashes, code untouched).
    Aspects.of(this).add(new lambda.FunctionVersionUpgrade(LAMBDA_RECOGNIZE_LAYER_VERSION));
    const arch = props.architecture === "arm64" ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const archName = props.architecture === "arm64" ? "arm64" : "x64";
    const buildDir = props.buildDir ?? path.resolve("build/lambda");
    const useBuild = props.code === "build";
    const runtime = props.runtime === "nodejs22.x" ? lambda.Runtime.NODEJS_22_X : lambda.Runtime.NODEJS_20_X;
    const removalPolicy = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    // One lifetime for sessions (the functions' SESSION_TTL_DAYS) and results (the bucket's
    // lifecycle rule). Refused here, not at deploy time: S3 refuses 0 days only once the bucket
    // is being created, and functions given a value their configuration refuses would not start.
    const ttlDays = props.sessionTtlDays ?? 30;
    if (!Number.isInteger(ttlDays) || ttlDays < 1) {
      throw new Error(`sessionTtlDays must be a whole number of days from 1 up (got ${ttlDays})`);
    }

    const asset = (file: string, placeholderDir: string) => {
      const full = path.join(buildDir, file);
      if (useBuild && !existsSync(full)) throw new Error(`${full} is missing: run \`npm run build:lambda\` first`);
      return lambda.Code.fromAsset(useBuild ? full : path.join(import.meta.dirname, "placeholder", placeholderDir));
    };

    // JWT verification for the API (an OIDC issuer's JWKS), given at deploy time. The three values
    // also name the API's published version (see the API's currentVersionOptions), whose
    // description Lambda caps at 256 characters: together they may take 248.
    const jwksUrl = new CfnParameter(this, "JwksUrl", {
      type: "String",
      default: "",
      description:
        "JWKS URL of the OIDC issuer whose tokens the API accepts (Cognito, Google, ...); with JwtIssuer and JwtAudience at most 248 characters",
    });
    const jwtIssuer = new CfnParameter(this, "JwtIssuer", { type: "String", default: "", description: "Expected iss" });
    const jwtAudience = new CfnParameter(this, "JwtAudience", {
      type: "String",
      default: "",
      description: "Expected aud",
    });

    this.bucket = new s3.Bucket(this, "GeneratedImagesBucket", {
      bucketName: props.bucketName,
      versioned: true,
      lifecycleRules: [
        {
          id: "DeleteOldImages",
          enabled: true,
          expiration: Duration.days(ttlDays),
          // Versioning keeps overwritten copies: expire those too, and stale multipart parts.
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      cors: [
        {
          allowedOrigins: ["*"],
          allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedHeaders: ["*"],
          maxAge: 3600,
        },
      ],
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      // CloudFormation cannot delete a bucket that still holds objects (or, versioned, old
      // versions): when the data is not kept, empty it on deletion so `make destroy` succeeds.
      autoDeleteObjects: props.retainData === false,
    });

    this.table = new dynamodb.Table(this, "ImageEditSessionsTable", {
      tableName: props.tableName ?? "image-edit-sessions",
      partitionKey: { name: "sessionId", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "ttl",
      removalPolicy,
    });
    // The guide's tags (its Project is the other project's name, as with the function names).
    Tags.of(this.table).add("Project", "imgedit");
    Tags.of(this.table).add("Component", "image-editor");
    this.table.addGlobalSecondaryIndex({
      indexName: "userId-createdAt-index",
      partitionKey: { name: "userId", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "createdAt", type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    const sharpLayer = new lambda.LayerVersion(this, "SharpLayer", {
      description: `sharp 0.35 with libvips for linux-${archName} (glibc)`,
      code: asset(`sharp-layer-${archName}.zip`, "layer"),
      compatibleRuntimes: [lambda.Runtime.NODEJS_20_X, lambda.Runtime.NODEJS_22_X],
      compatibleArchitectures: [arch],
    });

    const basicRole = (id: string) =>
      new iam.Role(this, id, {
        assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSLambdaBasicExecutionRole")],
      });
    const objects = `${this.bucket.bucketArn}/*`;
    // uploadKey's prefix: what the API writes and the processor reads of the users' own files
    const uploads = `${this.bucket.bucketArn}/uploads/*`;
    const tableResources = [this.table.tableArn, `${this.table.tableArn}/index/userId-createdAt-index`];

    const processorRole = basicRole("ImageProcessorRole");
    processorRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "ResultsAndUploads",
        // PutObject (and AbortMultipartUpload) writes results; DeleteObject
        // removes a result whose session was deleted mid-image or whose image ended failed after
        // it was stored (runJob), which nothing else on AWS would clean up before the lifecycle rule.
        actions: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        resources: [objects],
      }),
    );
    processorRole.addToPolicy(
      // sources and watermarks given as upload:<id>; results are written, never read back
      new iam.PolicyStatement({ sid: "ReadUploads", actions: ["s3:GetObject"], resources: [uploads] }),
    );
    processorRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "MissingIsNotFound",
        // Without ListBucket, S3 answers 403 instead of 404 for a missing key: an expired upload
        // would look like a storage fault (retried) instead of NOT_FOUND.
        actions: ["s3:ListBucket"],
        resources: [this.bucket.bucketArn],
      }),
    );
    processorRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "Sessions",
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
        resources: tableResources,
      }),
    );

    const logRetention = (name: string) =>
      new logs.LogGroup(this, `${name}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });

    // Lambda's on-failure destination for the processor. Its own function and role (it reads and
    // updates session records, and removes a result a killed run stored for the image it marks
    // failed); no destination of its own, so a failure here cannot loop, and Lambda's async
    // retries of it are safe (it never overwrites a finished image).
    const recorderRole = basicRole("FailureRecorderRole");
    recorderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "RecordFailure",
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
      }),
    );
    recorderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "RemoveFailedResult",
        // It lists the image's keys (ListBucket: also 404 instead of 403 for a missing one) and
        // deletes them; it never reads or writes an object.
        actions: ["s3:DeleteObject"],
        resources: [objects],
      }),
    );
    recorderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "FindFailedResult",
        actions: ["s3:ListBucket"],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.failureRecorder = new lambda.Function(this, "FailureRecorderFunction", {
      functionName: props.failureRecorderFunctionName ?? "imgedit-failure-recorder",
      description: "imgedit: marks an image failed when Lambda gives up on its processor job",
      runtime,
      architecture: arch,
      // The processor's bundle (its imports load sharp), with a second export.
      handler: "index.failureHandler",
      code: asset("processor.zip", "function"),
      memorySize: 512,
      timeout: Duration.seconds(30),
      layers: [sharpLayer],
      role: recorderRole,
      logGroup: logRetention("FailureRecorder"),
      environment: {
        S3_BUCKET: this.bucket.bucketName,
        DYNAMODB_TABLE: this.table.tableName,
        SESSION_TTL_DAYS: String(ttlDays),
      },
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    // It runs from the processor's bundle: behind an alias, a rollback takes it back with the
    // processor instead of leaving it on the newer code.
    this.failureRecorderAlias = new lambda.Alias(this, "FailureRecorderProduction", {
      aliasName: PRODUCTION_ALIAS,
      version: this.failureRecorder.currentVersion,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
    // The full invocation record (not just the response): the job is in its requestPayload.
    const onFailure = new FunctionDestination(this.failureRecorderAlias);

    this.processor = new lambda.Function(this, "ImageProcessorFunction", {
      functionName: props.processorFunctionName ?? "imgedit-image-processor",
      description: "imgedit: runs one image job (fetch, process, store, record progress)",
      runtime,
      architecture: arch,
      handler: "index.handler",
      code: asset("processor.zip", "function"),
      memorySize: 2048,
      timeout: Duration.seconds(300),
      ephemeralStorageSize: Size.mebibytes(2048),
      layers: [sharpLayer],
      role: processorRole,
      logGroup: logRetention("Processor"),
      environment: {
        S3_BUCKET: this.bucket.bucketName,
        DYNAMODB_TABLE: this.table.tableName,
        SESSION_TTL_DAYS: String(ttlDays),
        // Lambda's runtime has no fonts: text overlays use the DejaVu Sans the sharp layer ships.
        FONTCONFIG_FILE: "/opt/fonts/fonts.conf",
        ...LIMITS_ENV,
      },
      retryAttempts: props.jobRetries ?? 2,
      maxEventAge: Duration.hours(1),
      onFailure,
      // Keep replaced versions: `make rollback VERSION=<n>` moves the alias back to one of them.
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    this.processorAlias = new lambda.Alias(this, "ImageProcessorProduction", {
      aliasName: PRODUCTION_ALIAS,
      version: this.processor.currentVersion,
      retryAttempts: props.jobRetries ?? 2,
      maxEventAge: Duration.hours(1),
      // The API invokes this alias: its own event-invoke config needs the destination too.
      onFailure,
    });

    const apiRole = basicRole("ApiRole");
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "Objects",
        // Presigned GETs are signed with this role; a deleted session's files go. (Uploads are
        // stored under uploads/ only: StoreUploads.)
        actions: ["s3:GetObject", "s3:DeleteObject"],
        resources: [objects],
      }),
    );
    apiRole.addToPolicy(
      // one PutObject each: uploads are buffered, never multipart
      new iam.PolicyStatement({ sid: "StoreUploads", actions: ["s3:PutObject"], resources: [uploads] }),
    );
    apiRole.addToPolicy(
      new iam.PolicyStatement({ sid: "ListForDelete", actions: ["s3:ListBucket"], resources: [this.bucket.bucketArn] }),
    );
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "Sessions",
        // Items by key: sessions and their Idempotency-Key markers.
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        resources: [this.table.tableArn],
      }),
    );
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "ListSessions",
        // A user's sessions, newest first: the userId-createdAt index only.
        actions: ["dynamodb:Query"],
        resources: [tableResources[1]],
      }),
    );
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        sid: "QueueJobs",
        // Only the alias: IMAGE_PROCESSOR_FUNCTION_ARN (below) is the alias's ARN.
        actions: ["lambda:InvokeFunction"],
        resources: [this.processorAlias.functionArn],
      }),
    );

    // HS256 key for progress-stream tokens (and tokens minted by `imgedit token`): every API
    // container must share it. Generated once; resolved into the environment at deploy time.
    const jwtSecret = new secretsmanager.Secret(this, "JwtSecret", {
      description: "imgedit: HS256 key for stream tokens",
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });

    this.api = new lambda.Function(this, "ApiFunction", {
      functionName: props.apiFunctionName ?? "imgedit-api",
      description: "imgedit: the HTTP API (function URL, response streaming for progress)",
      runtime,
      architecture: arch,
      handler: "index.handler",
      code: asset("api.zip", "function"),
      // Uploads are probed with sharp; 1 GB also buys a faster CPU share than 256 MB.
      memorySize: 1024,
      // An SSE stream lives at most this long; EventSource reconnects with Last-Event-ID.
      timeout: Duration.seconds(300),
      layers: [sharpLayer],
      role: apiRole,
      logGroup: logRetention("Api"),
      environment: {
        IMAGE_PROCESSOR_FUNCTION_ARN: this.processorAlias.functionArn,
        IMAGE_EDIT_SESSIONS_TABLE: this.table.tableName,
        GENERATED_IMAGES_BUCKET: this.bucket.bucketName,
        JWKS_URL: jwksUrl.valueAsString,
        JWT_ISSUER: jwtIssuer.valueAsString,
        JWT_AUDIENCE: jwtAudience.valueAsString,
        JWT_SECRET: jwtSecret.secretValue.unsafeUnwrap(),
        LOCAL_SIGN_IN: "false",
        SESSION_TTL_DAYS: String(ttlDays),
        ...LIMITS_ENV,
      },
      currentVersionOptions: {
        removalPolicy: RemovalPolicy.RETAIN,
        // The JWT settings are stack parameters: their values are not in the template, so CDK's
        // version hash cannot see them change. A version's description is one of its own
        // properties (a change replaces it, i.e. publishes a new version, which `production` then
        // points at), so a deploy that only changes them still reaches the alias. It also shows in
        // `make versions`. Lambda allows 256 characters: the three values must fit together.
        description: Fn.join("", [
          "auth: ",
          jwksUrl.valueAsString,
          " ",
          jwtIssuer.valueAsString,
          " ",
          jwtAudience.valueAsString,
        ]),
      },
    });
    this.apiAlias = new lambda.Alias(this, "ApiProduction", {
      aliasName: PRODUCTION_ALIAS,
      version: this.api.currentVersion,
    });
    // Auth is the app's own (JWT bearer); the URL streams responses so SSE works.
    this.functionUrl = this.apiAlias.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });

    this.monitoring();

    new CfnOutput(this, "ApiUrl", { value: this.functionUrl.url });
    new CfnOutput(this, "BucketName", { value: this.bucket.bucketName });
    new CfnOutput(this, "TableName", { value: this.table.tableName });
    new CfnOutput(this, "ProcessorFunctionName", { value: this.processor.functionName });
    new CfnOutput(this, "ApiFunctionName", { value: this.api.functionName });
    new CfnOutput(this, "FailureRecorderFunctionName", { value: this.failureRecorder.functionName });
    new CfnOutput(this, "SharpLayerArn", { value: sharpLayer.layerVersionArn });
    // For `aws secretsmanager get-secret-value --secret-id ...` (minting tokens, the load test).
    new CfnOutput(this, "JwtSecretArn", { value: jwtSecret.secretArn });
  }

  private monitoring(): void {
    const fn = this.processor;
    const period = Duration.minutes(5);
    const memory = new cw.Metric({
      namespace: MEMORY_METRIC.namespace,
      metricName: MEMORY_METRIC.name,
      dimensionsMap: { service: "imgedit", function: "processor" },
      statistic: "Maximum",
      period,
    });
    const dashboard = new cw.Dashboard(this, "Dashboard", { dashboardName: `${this.stackName}-image-processor` });
    dashboard.addWidgets(
      new cw.GraphWidget({
        title: "Image Processor Invocations",
        left: [
          fn.metricInvocations({ statistic: "Sum", period, label: "Total Invocations" }),
          fn.metricErrors({ statistic: "Sum", period, label: "Errors" }),
          fn.metricThrottles({ statistic: "Sum", period, label: "Throttles" }),
        ],
        leftYAxis: { min: 0 },
      }),
      new cw.GraphWidget({
        title: "Processing Duration",
        left: [
          fn.metricDuration({ statistic: "Average", period, label: "Average" }),
          fn.metricDuration({ statistic: "p99", period, label: "p99" }),
        ],
      }),
      new cw.GraphWidget({
        title: "Memory Usage",
        left: [memory.with({ label: "Peak memory (bytes)" })],
        leftAnnotations: [{ value: MEMORY_ALARM_BYTES, label: "1.8 GB alarm" }],
      }),
    );

    new cw.Alarm(this, "HighErrorsAlarm", {
      alarmName: `${this.stackName}-image-processor-high-errors`,
      alarmDescription: "More than 5 processor errors in each of two consecutive 5-minute periods",
      metric: fn.metricErrors({ statistic: "Sum", period }),
      threshold: 5,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    new cw.Alarm(this, "HighMemoryAlarm", {
      alarmName: `${this.stackName}-image-processor-high-memory`,
      alarmDescription: "Processor peak memory above 1.8 GB (of 2 GB)",
      metric: memory,
      threshold: MEMORY_ALARM_BYTES,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    new cw.Alarm(this, "TimeoutAlarm", {
      alarmName: `${this.stackName}-image-processor-timeouts`,
      alarmDescription:
        "A processor run took longer than 280 s: it reached its own deadline (285 s) or the 300 s timeout",
      metric: fn.metricDuration({ statistic: "Maximum", period }),
      threshold: TIMEOUT_ALARM_MS,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
  }
}
