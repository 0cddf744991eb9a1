import { useState } from 'preact/hooks';

/** Asks for the token once per session; `problem` says why the last one was refused. */
export function TokenForm({ problem, onSubmit, busy }: { problem: string | undefined; onSubmit: (token: string) => void; busy: boolean }) {
  const [token, setToken] = useState('');
  return (
    <main class="token-page">
      <form
        class="panel token-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim()) onSubmit(token.trim());
        }}
      >
        <h1>Switchboard</h1>
        <p>This registry needs a token. It is kept for this browser tab's session only and sent in a request header, never in a URL.</p>
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(event) => setToken(event.currentTarget.value)} />
        {problem && (
          <p class="note error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Open the dashboard'}
        </button>
      </form>
    </main>
  );
}
