import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { type AuthConfig, api, checkToken, tokenSubject, type User } from "../api";

interface Props {
  onSignedIn(session: { token: string; user: User }): void;
  /** The token was refused: shown as a dialog over the editor, whose work stays as it was. */
  expired?: boolean;
  /** Reached by signing out: focus starts on the way back in (the button pressed is gone). */
  focusFirst?: boolean;
}

/** Local mode: one click. Otherwise: paste a token from your identity provider (never put in a URL). */
export function SignIn({ onSignedIn, expired, focusFirst }: Props) {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [pasted, setPasted] = useState("");
  const tokenId = useId();
  const card = useRef<HTMLDivElement>(null);

  useEffect(() => {
    api
      .authConfig()
      .then(setConfig)
      .catch(() => setConfig({ localSignIn: false }));
  }, []);

  // As a dialog, focus moves into it (what had focus is now behind it, inert).
  useEffect(() => {
    if ((expired || focusFirst) && config)
      card.current?.querySelector<HTMLElement>("button:not(:disabled), textarea")?.focus();
  }, [expired, focusFirst, config]);

  const local = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.localSignIn();
      const user = typeof r.user === "string" ? { id: r.user } : r.user;
      onSignedIn({ token: r.token, user });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const withToken = async (e: FormEvent) => {
    e.preventDefault();
    const token = pasted.trim().replace(/^Bearer\s+/i, "");
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      await checkToken(token);
      onSignedIn({ token, user: { id: tokenSubject(token) ?? "signed in" } });
    } catch (err) {
      setError(`That token was not accepted: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const Root = expired ? "div" : "main";
  return (
    <Root
      className={expired ? "signin signin-dialog" : "signin"}
      role={expired ? "dialog" : undefined}
      aria-modal={expired || undefined}
      aria-labelledby="signin-title"
    >
      <div className="signin-card" ref={card}>
        <div className="brand brand-lg" aria-hidden="true">
          <span className="logo">◆</span> imgedit
        </div>
        {expired ? (
          <>
            <h1 id="signin-title">Your sign-in has expired</h1>
            <p className="notice">Sign in again to carry on: your images and results stay on the page.</p>
          </>
        ) : (
          <>
            <h1 id="signin-title">Edit images by saying what you want</h1>
            <p className="muted">
              Drop images in, type “resize to 800px and convert to webp”, watch it happen, download.
            </p>
          </>
        )}
        {config === null ? (
          <p className="muted" aria-live="polite">
            Checking how to sign in…
          </p>
        ) : config.localSignIn ? (
          <button type="button" className="btn primary big" onClick={local} disabled={busy}>
            {busy ? "Signing in…" : "Sign in locally"}
          </button>
        ) : null}
        {config && !config.localSignIn && (
          <form onSubmit={withToken} className="token-form">
            <label htmlFor={tokenId}>Access token</label>
            <textarea
              id={tokenId}
              rows={3}
              value={pasted}
              onChange={(e) => setPasted(e.target.value)}
              placeholder="Paste the bearer token (JWT) from your identity provider"
              spellCheck={false}
              autoComplete="off"
            />
            <button type="submit" className="btn primary" disabled={busy || !pasted.trim()}>
              {busy ? "Checking…" : "Sign in with token"}
            </button>
          </form>
        )}
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
      </div>
    </Root>
  );
}
