// Stand-in code so `cdk synth` works before `npm run build:lambda` has produced build/lambda/*.zip.
// `make deploy` refuses it (-c requireBuild=true); if it ever runs, it says what to do.
export const handler = async () => {
  throw new Error("imgedit: this function has placeholder code; run `npm run build:lambda` and deploy again");
};
