// Past commands, newest last, kept in localStorage (commands are not secrets; tokens never go here),
// one list per signed-in user: localStorage is shared by everyone who uses this browser.
const MAX = 50;
const keyFor = (userId: string) => `imgedit.commands:${userId}`;

export function loadCommandHistory(userId: string): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(keyFor(userId)) ?? "[]");
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").slice(-MAX) : [];
  } catch {
    return [];
  }
}

export function rememberCommand(userId: string, history: string[], command: string): string[] {
  const text = command.trim();
  if (!text) return history;
  const next = [...history.filter((h) => h !== text), text].slice(-MAX);
  try {
    localStorage.setItem(keyFor(userId), JSON.stringify(next));
  } catch {
    // storage full or disabled: history lasts for this page only
  }
  return next;
}
