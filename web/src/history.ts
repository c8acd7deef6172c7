// Past commands, newest last, kept in localStorage (commands are not secrets; tokens never go here).
const KEY = "imgedit.commands";
const MAX = 50;

export function loadCommandHistory(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").slice(-MAX) : [];
  } catch {
    return [];
  }
}

export function rememberCommand(history: string[], command: string): string[] {
  const text = command.trim();
  if (!text) return history;
  const next = [...history.filter((h) => h !== text), text].slice(-MAX);
  try {
    localStorage.setItem(KEY, JSON.stringify(next));
  } catch {
    // storage full or disabled: history lasts for this page only
  }
  return next;
}
