export function startSettings(
  env: NodeJS.ProcessEnv,
  execArgv: string[],
): { env: Record<string, string>; nodeArgs: string[] };
