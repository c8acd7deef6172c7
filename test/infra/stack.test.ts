// The CDK stack, synthesised offline and checked resource by resource against the guide.

import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ImgeditStack, MEMORY_ALARM_BYTES, TIMEOUT_ALARM_MS } from "../../infra/stack.js";
import { loadConfig } from "../../src/config.js";
import { limitsFromConfig } from "../../src/core/limits.js";
import { DEPLOYED_API } from "../../src/cost/model.js";
import { DEADLINE_MARGIN_MS } from "../../src/lambda/processor.js";

type Json = Record<string, any>;
let template: Template;
let resources: Record<string, Json>;

function synth(props: ConstructorParameters<typeof ImgeditStack>[2] = {}): Template {
  const app = new App();
  const stack = new ImgeditStack(app, "TestStack", { code: "placeholder", ...props });
  return Template.fromStack(stack);
}

const byType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const logicalId = (type: string, prefix: string) => {
  const found = byType(type).find(([id]) => id.startsWith(prefix));
  if (!found) throw new Error(`no ${type} named ${prefix}*`);
  return found[0];
};
const fnProps = (prefix: string) => resources[logicalId("AWS::Lambda::Function", prefix)].Properties;

beforeAll(() => {
  template = synth();
  resources = template.toJSON().Resources;
});

describe("functions", () => {
  it("runs the processor on Node.js 20 with 2048 MB, 300 s, 2048 MB /tmp and the guide's environment", () => {
    const p = fnProps("ImageProcessorFunction");
    expect(p).toMatchObject({
      Runtime: "nodejs20.x",
      MemorySize: 2048,
      Timeout: 300,
      EphemeralStorage: { Size: 2048 },
      Handler: "index.handler",
      Architectures: ["x86_64"],
    });
    const env = p.Environment.Variables;
    expect(env).toMatchObject({
      MAX_IMAGE_SIZE: "26214400",
      MAX_DIMENSIONS: "10000",
      DEFAULT_QUALITY: "90",
      MALLOC_ARENA_MAX: "2",
      FONTCONFIG_FILE: "/opt/fonts/fonts.conf",
    });
    expect(env.S3_BUCKET).toEqual({ Ref: logicalId("AWS::S3::Bucket", "GeneratedImagesBucket") });
    expect(env.DYNAMODB_TABLE).toEqual({ Ref: logicalId("AWS::DynamoDB::Table", "ImageEditSessionsTable") });
    expect(p.Layers).toEqual([{ Ref: logicalId("AWS::Lambda::LayerVersion", "SharpLayer") }]);
  });

  it("gives the API the guide's environment, the JWT parameters and the sharp layer", () => {
    const p = fnProps("ApiFunction");
    expect(p.Runtime).toBe("nodejs20.x");
    // `imgedit cost` prices the API function at the memory it is deployed with
    expect(p.MemorySize).toBe(DEPLOYED_API.memoryMB);
    const env = p.Environment.Variables;
    expect(env.IMAGE_EDIT_SESSIONS_TABLE).toEqual({ Ref: logicalId("AWS::DynamoDB::Table", "ImageEditSessionsTable") });
    expect(env.GENERATED_IMAGES_BUCKET).toEqual({ Ref: logicalId("AWS::S3::Bucket", "GeneratedImagesBucket") });
    // The processor's production alias, so rolling the alias back also rolls back the jobs.
    expect(env.IMAGE_PROCESSOR_FUNCTION_ARN).toEqual({
      Ref: logicalId("AWS::Lambda::Alias", "ImageProcessorProduction"),
    });
    expect(env.JWKS_URL).toEqual({ Ref: "JwksUrl" });
    expect(env.JWT_ISSUER).toEqual({ Ref: "JwtIssuer" });
    expect(env.JWT_AUDIENCE).toEqual({ Ref: "JwtAudience" });
    expect(env.MAX_IMAGE_SIZE).toBe("26214400");
    // The stream-token key comes from a generated secret, resolved at deploy time (never in the template).
    const secretId = logicalId("AWS::SecretsManager::Secret", "JwtSecret");
    expect(JSON.stringify(env.JWT_SECRET)).toContain("{{resolve:secretsmanager:");
    expect(JSON.stringify(env.JWT_SECRET)).toContain(secretId);
    expect(fnProps("ImageProcessorFunction").Environment.Variables.JWT_SECRET).toBeUndefined();
    expect(p.Layers).toEqual([{ Ref: logicalId("AWS::Lambda::LayerVersion", "SharpLayer") }]);
    expect(Object.keys(template.toJSON().Parameters)).toEqual(
      expect.arrayContaining(["JwksUrl", "JwtIssuer", "JwtAudience"]),
    );
  });

  it("names in its outputs everything the README's commands need", () => {
    const outputs = template.toJSON().Outputs as Record<string, Json>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        "ApiUrl",
        "BucketName",
        "TableName",
        "ProcessorFunctionName",
        "ApiFunctionName",
        "FailureRecorderFunctionName",
        "SharpLayerArn",
        // `aws secretsmanager get-secret-value --secret-id <JwtSecretArn>` to mint tokens
        "JwtSecretArn",
      ]),
    );
    expect(outputs.JwtSecretArn.Value).toEqual({ Ref: logicalId("AWS::SecretsManager::Secret", "JwtSecret") });
  });

  it("puts a `production` alias on every function and a streaming function URL on the API's", () => {
    // The failure recorder too: it runs the processor's bundle, and `make rollback` moves every
    // alias together (a recorder left on $LATEST would keep the newer code after a rollback).
    const aliases = byType("AWS::Lambda::Alias").map(([, r]) => r.Properties);
    expect(aliases).toHaveLength(3);
    for (const a of aliases) expect(a.Name).toBe("production");
    expect(aliases.map((a) => a.FunctionName.Ref).sort()).toEqual(
      byType("AWS::Lambda::Function")
        .map(([id]) => id)
        .filter((id) => !id.startsWith("Custom"))
        .sort(),
    );
    template.hasResourceProperties("AWS::Lambda::Url", {
      InvokeMode: "RESPONSE_STREAM",
      AuthType: "NONE",
      TargetFunctionArn: { "Fn::GetAtt": [logicalId("AWS::Lambda::Function", "ApiFunction"), "Arn"] },
      Qualifier: "production",
    });
  });

  it("packs sharp as a layer for the chosen architecture", () => {
    template.hasResourceProperties("AWS::Lambda::LayerVersion", {
      CompatibleRuntimes: ["nodejs20.x", "nodejs22.x"],
      CompatibleArchitectures: ["x86_64"],
    });
    const arm = synth({ architecture: "arm64" });
    arm.hasResourceProperties("AWS::Lambda::LayerVersion", { CompatibleArchitectures: ["arm64"] });
    arm.hasResourceProperties("AWS::Lambda::Function", { Architectures: ["arm64"], MemorySize: 2048 });
  });

  it("can move every function to Node.js 22 (nodejs20.x is deprecated by AWS)", () => {
    const t = synth({ runtime: "nodejs22.x" }).toJSON().Resources as Record<string, Json>;
    const fns = Object.values(t).filter((r) => r.Type === "AWS::Lambda::Function");
    expect(fns).toHaveLength(3); // processor, API, failure recorder
    for (const f of fns) expect(f.Properties.Runtime).toBe("nodejs22.x");
  });

  it("refuses to use build output that is not there", () => {
    expect(() => synth({ code: "build", buildDir: "/nonexistent/build" })).toThrow(/build:lambda/);
  });

  it("keeps the versions a deploy replaces, so `make rollback` can go back past a deploy", () => {
    // CDK's default (DESTROY) deletes the previous version on every deploy that changes the code,
    // leaving the guide's rollback (update-alias to $PREVIOUS_VERSION) nothing to point at.
    const versions = Object.entries(template.toJSON().Resources as Record<string, Json>).filter(
      ([, r]) => r.Type === "AWS::Lambda::Version",
    );
    expect(versions.map(([, r]) => r.Properties.FunctionName.Ref).sort()).toEqual(
      [
        logicalId("AWS::Lambda::Function", "ApiFunction"),
        logicalId("AWS::Lambda::Function", "FailureRecorderFunction"),
        logicalId("AWS::Lambda::Function", "ImageProcessorFunction"),
      ].sort(),
    );
    for (const [id, r] of versions) {
      expect(r.DeletionPolicy, id).toBe("Retain");
      expect(r.UpdateReplacePolicy, id).toBe("Retain");
    }
  });

  it("gives each function, through its environment, the guide's limits (25 MiB, 10000 px, quality 90)", () => {
    // What the deployed code would read: the template's environment through the same loadConfig
    // as the handlers. A parameter takes its default (JWKS_URL etc.: empty, i.e. unset); other
    // references (bucket, table, alias, secret) become stand-in values.
    const parameters = template.toJSON().Parameters as Record<string, Json>;
    const resolve = (name: string, v: unknown): string => {
      if (typeof v === "string") return v;
      const ref = (v as Json).Ref;
      if (typeof ref === "string" && parameters[ref]) return String(parameters[ref].Default ?? "");
      return `resolved-${name.toLowerCase()}`;
    };
    const envOf = (prefix: string) =>
      Object.fromEntries(
        Object.entries(fnProps(prefix).Environment.Variables as Record<string, unknown>).map(([k, v]) => [
          k,
          resolve(k, v),
        ]),
      );
    for (const prefix of ["ImageProcessorFunction", "ApiFunction", "FailureRecorderFunction"]) {
      const config = loadConfig(envOf(prefix));
      expect(config.mode, prefix).toBe("aws");
      expect(limitsFromConfig(config), prefix).toMatchObject({
        maxImageBytes: 25 * 1024 * 1024,
        maxDimension: 10_000,
        defaultQuality: 90,
      });
    }
    const api = loadConfig(envOf("ApiFunction"));
    expect(api.IMAGE_PROCESSOR_FUNCTION_ARN).toBeTruthy();
    expect(api.LOCAL_SIGN_IN).toBe(false);
  });
});

describe("results bucket", () => {
  it("is versioned, expires objects after 30 days and allows CORS GET/HEAD", () => {
    const b = resources[logicalId("AWS::S3::Bucket", "GeneratedImagesBucket")].Properties;
    expect(b.VersioningConfiguration).toEqual({ Status: "Enabled" });
    expect(b.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ Id: "DeleteOldImages", Status: "Enabled", ExpirationInDays: 30 }),
    ]);
    expect(b.CorsConfiguration.CorsRules).toEqual([
      { AllowedOrigins: ["*"], AllowedMethods: ["GET", "HEAD"], AllowedHeaders: ["*"], MaxAge: 3600 },
    ]);
  });

  it("blocks all public access and grants no public read", () => {
    const b = resources[logicalId("AWS::S3::Bucket", "GeneratedImagesBucket")].Properties;
    expect(b.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(b.AccessControl).toBeUndefined();
    // The only bucket policy is enforceSSL's: every statement denies.
    const policies = byType("AWS::S3::BucketPolicy");
    expect(policies).toHaveLength(1);
    const statements = policies[0][1].Properties.PolicyDocument.Statement as Json[];
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) expect(s.Effect).toBe("Deny");
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Condition: { Bool: { "aws:SecureTransport": "false" } }, Effect: "Deny" }),
      ]),
    );
    const publicAllow = statements.filter(
      (s) => s.Effect === "Allow" && (s.Principal === "*" || s.Principal?.AWS === "*"),
    );
    expect(publicAllow).toEqual([]);
  });
});

describe("sessions table", () => {
  it("is on demand with sessionId hash key, the userId-createdAt GSI and TTL on ttl", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "image-edit-sessions",
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: "sessionId", KeyType: "HASH" }],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: "sessionId", AttributeType: "S" },
        { AttributeName: "userId", AttributeType: "S" },
        { AttributeName: "createdAt", AttributeType: "N" },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: "userId-createdAt-index",
          KeySchema: [
            { AttributeName: "userId", KeyType: "HASH" },
            { AttributeName: "createdAt", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
    });
  });

  it("takes its name from the props", () => {
    synth({ tableName: "other-sessions" }).hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "other-sessions",
    });
  });

  it("carries the guide's Project and Component tags (Project is this one)", () => {
    const t = resources[logicalId("AWS::DynamoDB::Table", "ImageEditSessionsTable")].Properties;
    expect(t.Tags).toEqual(
      expect.arrayContaining([
        { Key: "Project", Value: "imgedit" },
        { Key: "Component", Value: "image-editor" },
      ]),
    );
    expect(t.StreamSpecification).toBeUndefined();
  });
});

describe("data on stack deletion", () => {
  it("keeps the bucket and table by default", () => {
    for (const [type, prefix] of [
      ["AWS::S3::Bucket", "GeneratedImagesBucket"],
      ["AWS::DynamoDB::Table", "ImageEditSessionsTable"],
    ]) {
      expect(resources[logicalId(type, prefix)]).toMatchObject({
        DeletionPolicy: "Retain",
        UpdateReplacePolicy: "Retain",
      });
    }
    expect(byType("Custom::S3AutoDeleteObjects")).toEqual([]);
  });

  it("with retainData=false empties the (versioned) bucket first, so `make destroy` can delete it", () => {
    // CloudFormation cannot delete a bucket that still holds objects or versions: without the
    // emptying custom resource, destroying such a stack would end DELETE_FAILED.
    const t = synth({ retainData: false }).toJSON().Resources as Record<string, Json>;
    const [bucketId, bucket] = Object.entries(t).find(([, r]) => r.Type === "AWS::S3::Bucket")!;
    expect(bucket.DeletionPolicy).toBe("Delete");
    const table = Object.values(t).find((r) => r.Type === "AWS::DynamoDB::Table")!;
    expect(table.DeletionPolicy).toBe("Delete");
    const emptying = Object.values(t).filter((r) => r.Type === "Custom::S3AutoDeleteObjects");
    expect(emptying).toHaveLength(1);
    expect(emptying[0].Properties.BucketName).toEqual({ Ref: bucketId });
  });
});

describe("IAM", () => {
  const statementsOf = (rolePrefix: string): Json[] => {
    const roleId = logicalId("AWS::IAM::Role", rolePrefix);
    return byType("AWS::IAM::Policy")
      .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  };
  const actionsOf = (s: Json): string[] => [s.Action].flat();
  const bucketArn = () => ({ "Fn::GetAtt": [logicalId("AWS::S3::Bucket", "GeneratedImagesBucket"), "Arn"] });
  const tableArn = () => ({ "Fn::GetAtt": [logicalId("AWS::DynamoDB::Table", "ImageEditSessionsTable"), "Arn"] });
  const recorderArn = () => ({ Ref: logicalId("AWS::Lambda::Alias", "FailureRecorderProduction") });

  it("never grants s3, dynamodb or lambda actions on '*'", () => {
    const all = byType("AWS::IAM::Policy").flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) {
      const services = actionsOf(s).map((a) => a.split(":")[0]);
      if (!services.some((x) => ["s3", "dynamodb", "lambda"].includes(x))) continue;
      expect([s.Resource].flat()).not.toContain("*");
      for (const a of actionsOf(s)) expect(a).not.toMatch(/\*/);
    }
  });

  it("uses no wildcard in a resource except the guide's own (the bucket's objects, or its uploads)", () => {
    // e.g. no `<function ARN>:*` (every version of a function) where one ARN is what is invoked
    const allowed = [
      JSON.stringify({ "Fn::Join": ["", [bucketArn(), "/*"]] }),
      JSON.stringify({ "Fn::Join": ["", [bucketArn(), "/uploads/*"]] }),
    ];
    const all = byType("AWS::IAM::Policy").flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
    for (const s of all) {
      for (const r of [s.Resource].flat()) {
        const text = JSON.stringify(r);
        if (text.includes("*")) expect(allowed, `${s.Sid ?? actionsOf(s).join(",")}`).toContain(text);
      }
    }
  });

  it("scopes the processor to the bucket's objects, the table and its index", () => {
    const st = statementsOf("ImageProcessorRole");
    const s3s = st.find((s) => actionsOf(s).includes("s3:PutObject"))!;
    // DeleteObject: runJob removes a stored result whose session was deleted or whose image failed
    expect(actionsOf(s3s).sort()).toEqual(["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]);
    expect(s3s.Resource).toEqual({ "Fn::Join": ["", [bucketArn(), "/*"]] });
    // it reads only the users' uploads (sources and watermarks given as upload:<id>)
    const reads = st.filter((s) => actionsOf(s).includes("s3:GetObject"));
    expect(reads.map((s) => [actionsOf(s), s.Resource])).toEqual([
      [["s3:GetObject"], { "Fn::Join": ["", [bucketArn(), "/uploads/*"]] }],
    ]);
    const ddb = st.find((s) => actionsOf(s).includes("dynamodb:UpdateItem"))!;
    expect(actionsOf(ddb).sort()).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    expect(ddb.Resource).toEqual([tableArn(), { "Fn::Join": ["", [tableArn(), "/index/userId-createdAt-index"]] }]);
    const list = st.find((s) => actionsOf(s).includes("s3:ListBucket"))!;
    expect(actionsOf(list)).toEqual(["s3:ListBucket"]);
    expect(list.Resource).toEqual(bucketArn());
    // Lambda sends a destination record with the source function's role: it may invoke the
    // failure recorder's alias, nothing else.
    const lambdaStatements = st.filter((s) => actionsOf(s).some((a) => a.startsWith("lambda:")));
    expect(lambdaStatements).toHaveLength(1);
    expect(actionsOf(lambdaStatements[0])).toEqual(["lambda:InvokeFunction"]);
    // The destination is the recorder's alias ARN: that is all Lambda invokes.
    expect([lambdaStatements[0].Resource].flat()).toEqual([recorderArn()]);
    expect(st.some((s) => actionsOf(s).includes("s3:PutObjectAcl"))).toBe(false);
  });

  it("lets the API invoke only the processor's production alias (the ARN it is configured with)", () => {
    const st = statementsOf("ApiRole");
    const inv = st.find((s) => actionsOf(s).includes("lambda:InvokeFunction"))!;
    expect(actionsOf(inv)).toEqual(["lambda:InvokeFunction"]);
    const alias = { Ref: logicalId("AWS::Lambda::Alias", "ImageProcessorProduction") };
    expect([inv.Resource].flat()).toEqual([alias]);
    expect(fnProps("ApiFunction").Environment.Variables.IMAGE_PROCESSOR_FUNCTION_ARN).toEqual(alias);
    const list = st.find((s) => actionsOf(s).includes("s3:ListBucket"))!;
    expect(list.Resource).toEqual(bucketArn());
    // it stores uploads only; it reads (presigned result URLs) and deletes (a session's files) any
    const puts = st.filter((s) => actionsOf(s).includes("s3:PutObject"));
    expect(puts.map((s) => [actionsOf(s), s.Resource])).toEqual([
      [["s3:PutObject"], { "Fn::Join": ["", [bucketArn(), "/uploads/*"]] }],
    ]);
  });

  it("lets the failure recorder read and update session records and remove a failed image's result, nothing more", () => {
    const st = statementsOf("FailureRecorderRole");
    expect(st).toHaveLength(3);
    expect(actionsOf(st[0]).sort()).toEqual(["dynamodb:GetItem", "dynamodb:UpdateItem"]);
    expect(st[0].Resource).toEqual(tableArn());
    expect(actionsOf(st[1])).toEqual(["s3:DeleteObject"]);
    expect(JSON.stringify(st[1].Resource)).toContain("/*");
    expect(actionsOf(st[2])).toEqual(["s3:ListBucket"]);
    expect(st[2].Resource).toEqual(bucketArn());
  });

  it("attaches the basic execution role (logs) to every role", () => {
    for (const prefix of ["ImageProcessorRole", "ApiRole", "FailureRecorderRole"]) {
      const role = resources[logicalId("AWS::IAM::Role", prefix)].Properties;
      expect(JSON.stringify(role.ManagedPolicyArns)).toContain("service-role/AWSLambdaBasicExecutionRole");
      expect(role.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: "lambda.amazonaws.com" });
    }
  });
});

describe("on-failure destination", () => {
  const recorderId = () => logicalId("AWS::Lambda::Function", "FailureRecorderFunction");
  const invokeConfigs = () => byType("AWS::Lambda::EventInvokeConfig").map(([, r]) => r.Properties);

  it("sends a job Lambda gave up on (after 2 retries) to the failure recorder, on the function and its alias", () => {
    const processorRef = { Ref: logicalId("AWS::Lambda::Function", "ImageProcessorFunction") };
    const configs = invokeConfigs().filter((c) => JSON.stringify(c.FunctionName) === JSON.stringify(processorRef));
    // $LATEST and the `production` alias the API invokes.
    expect(configs).toHaveLength(2);
    expect(configs.map((c) => c.Qualifier)).toContainEqual("$LATEST");
    expect(JSON.stringify(configs.map((c) => c.Qualifier))).toContain(
      logicalId("AWS::Lambda::Alias", "ImageProcessorProduction"),
    );
    for (const c of configs)
      expect(c).toMatchObject({
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        // The recorder's alias: it rolls back with the processor (`make rollback`).
        DestinationConfig: {
          OnFailure: { Destination: { Ref: logicalId("AWS::Lambda::Alias", "FailureRecorderProduction") } },
        },
      });
  });

  it("runs the recorder from the processor's bundle as index.failureHandler, with no destination of its own", () => {
    const r = fnProps("FailureRecorderFunction");
    const p = fnProps("ImageProcessorFunction");
    expect(r).toMatchObject({ Handler: "index.failureHandler", Runtime: "nodejs20.x", Timeout: 30 });
    expect(r.Code).toEqual(p.Code);
    expect(r.Layers).toEqual(p.Layers);
    expect(r.Environment.Variables.DYNAMODB_TABLE).toEqual(p.Environment.Variables.DYNAMODB_TABLE);
    expect(r.Environment.Variables.S3_BUCKET).toEqual(p.Environment.Variables.S3_BUCKET);
    // No loop: nothing sends the recorder's own failures anywhere ($LATEST nor the alias).
    const own = invokeConfigs().filter((c) => c.FunctionName?.Ref === recorderId());
    expect(own).toHaveLength(2);
    for (const c of own) expect(c).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 21600 });
    for (const c of own) expect(c.DestinationConfig).toBeUndefined();
    template.hasOutput("FailureRecorderFunctionName", { Value: { Ref: recorderId() } });
  });
});

describe("monitoring", () => {
  const processorRef = () => ({ Ref: logicalId("AWS::Lambda::Function", "ImageProcessorFunction") });

  it("alarms on errors above 5 in two 5-minute periods", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: 5,
      ComparisonOperator: "GreaterThanThreshold",
      Dimensions: [{ Name: "FunctionName", Value: processorRef() }],
    });
  });

  it("alarms on peak memory above 1.8 GB (EMF metric from the processor)", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "imgedit",
      MetricName: "max_memory_used_bytes",
      Statistic: "Maximum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: MEMORY_ALARM_BYTES,
      ComparisonOperator: "GreaterThanThreshold",
      Dimensions: Match.arrayWith([
        { Name: "function", Value: "processor" },
        { Name: "service", Value: "imgedit" },
      ]),
    });
    expect(MEMORY_ALARM_BYTES).toBe(1_887_436_800);
  });

  it("alarms on a maximum duration above 280 s, below the processor's own deadline (guide: 295 s)", () => {
    // the processor returns when it stops itself DEADLINE_MARGIN_MS before the 300 s timeout: its
    // out-of-time runs end then, and the alarm must see them
    expect(TIMEOUT_ALARM_MS).toBeLessThan(300_000 - DEADLINE_MARGIN_MS);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Lambda",
      MetricName: "Duration",
      Statistic: "Maximum",
      Period: 300,
      Threshold: 280000,
      ComparisonOperator: "GreaterThanThreshold",
      Dimensions: [{ Name: "FunctionName", Value: processorRef() }],
    });
    expect(byType("AWS::CloudWatch::Alarm")).toHaveLength(3);
  });

  it("draws invocations, errors, throttles, duration average and p99, and memory", () => {
    const [, dash] = byType("AWS::CloudWatch::Dashboard")[0];
    // The body is a Fn::Join of strings and tokens: flatten it to text.
    const body = JSON.stringify(dash.Properties.DashboardBody);
    for (const needle of [
      "Invocations",
      "Errors",
      "Throttles",
      "Duration",
      '\\"stat\\":\\"p99\\"',
      // Average is the dashboard's default statistic, so CDK writes no "stat" for it.
      '\\"label\\":\\"Average\\"}',
      "max_memory_used_bytes",
    ]) {
      expect(body).toContain(needle);
    }
  });
});
