// Text another party chose (an image host's status line or headers, a TLS error's names, an LLM
// endpoint's error page) as it may appear in our messages, which reach logs, terminals and pages.

/** Control characters dropped, at most `max` characters. */
export function hostText(text: string, max = 100): string {
  const clean = text.replace(/\p{Cc}/gu, "");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
