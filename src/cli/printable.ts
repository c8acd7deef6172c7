// Text from outside (file names, messages quoting them, a remote server's answer) as a terminal
// should show it: on one line, with no control character the terminal would act on (a line break
// splitting a table row, an escape sequence changing colours or the window title). The JSON
// output needs none of this: JSON escapes them itself.

const CONTROL = /\p{Cc}/gu;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `s` with each C0/C1 control character written as an escape (`\n`, `\x1b`). */
export function printable(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
