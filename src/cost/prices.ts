// AWS list prices the cost model uses: one table, one date. us-east-1, on-demand, x86, no free tier.
// They were written from AWS's public price pages as last known to us; nothing here fetches them
// (the machines that build imgedit have no internet). CHECK THEM before you rely on a figure:
//   https://aws.amazon.com/lambda/pricing/  https://aws.amazon.com/dynamodb/pricing/on-demand/
//   https://aws.amazon.com/s3/pricing/      https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer)

export interface PriceTable {
  /** When these prices were taken (YYYY-MM-DD); printed with every estimate. */
  asOf: string;
  region: string;
  lambda: {
    /** USD per GB-second of duration (x86). */
    perGbSecond: number;
    /** USD per GB-second of duration (arm64, Graviton). */
    perGbSecondArm: number;
    perMillionRequests: number;
  };
  dynamodb: {
    /** On-demand write request units (one per 1 KB written), USD per million. */
    perMillionWriteUnits: number;
    /** On-demand read request units (one strongly consistent read of up to 4 KB), USD per million. */
    perMillionReadUnits: number;
    perGbMonth: number;
  };
  s3: {
    /** S3 Standard, first 50 TB. */
    perGbMonth: number;
    /** PUT, COPY, POST, LIST requests. */
    perThousandPut: number;
    /** GET, SELECT and other requests. */
    perThousandGet: number;
  };
  transfer: {
    /** Data transfer out to the internet, first 10 TB/month (after the free allowance). */
    perGbOut: number;
  };
  /** Monthly free allowances; not applied by default (they are per account, shared by everything in it). */
  freeTier: { lambdaGbSeconds: number; lambdaRequests: number; transferOutGb: number };
}

export const PRICES: PriceTable = {
  asOf: "2025-01-15",
  region: "us-east-1",
  lambda: { perGbSecond: 0.0000166667, perGbSecondArm: 0.0000133334, perMillionRequests: 0.2 },
  // on-demand prices after AWS halved them on 2024-11-01 (before: $1.25 and $0.25 per million)
  dynamodb: { perMillionWriteUnits: 0.625, perMillionReadUnits: 0.125, perGbMonth: 0.25 },
  s3: { perGbMonth: 0.023, perThousandPut: 0.005, perThousandGet: 0.0004 },
  transfer: { perGbOut: 0.09 },
  freeTier: { lambdaGbSeconds: 400_000, lambdaRequests: 1_000_000, transferOutGb: 100 },
};
