/**
 * Rules & settings: the failure rules in force (editable, validated by the API), the settings the
 * relay runs with (no secrets) and a few live counters from /metrics.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson, request, sendJson } from '../api';
import { ErrorLine, message } from '../components';
import { count } from '../format';

interface Setting {
  key: string;
  flag: string;
  value: unknown;
  default: string;
  description: string;
}

const COUNTERS: [string, string][] = [
  ['ims_relay_messages_accepted_total', 'Messages accepted'],
  ['ims_relay_recipient_deliveries_total', 'Recipient deliveries'],
  ['ims_relay_smtp_refusals_total', 'SMTP refusals'],
  ['ims_relay_reports_total', 'Reports queued'],
  ['ims_relay_spool_messages', 'Messages in the spool'],
];

/** Sums of a few metrics, by label set, from the Prometheus text format. */
function counters(text: string): { name: string; label: string; value: number }[] {
  const out: { name: string; label: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})?\s+([\d.eE+-]+)$/.exec(line);
    if (!m || !COUNTERS.some(([n]) => n === m[1])) continue;
    out.push({ name: m[1]!, label: (m[2] ?? '').replace(/[{}"]/g, ''), value: Number(m[3]) });
  }
  return out;
}

function Rules() {
  const [text, setText] = useState('');
  const [saved, setSaved] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    getJson<{ rules: string[] }>('/api/v1/failure-rules').then(
      (r) => setText(r.rules.join('\n')),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  return (
    <form
      class="rules"
      onSubmit={(e) => {
        e.preventDefault();
        const rules = text
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        sendJson<{ rules: string[] }>('PUT', '/api/v1/failure-rules', { rules }).then(
          (r) => {
            setText(r.rules.join('\n'));
            setSaved(`Saved: ${r.rules.length} rule${r.rules.length === 1 ? '' : 's'} in force.`);
            setError(undefined);
          },
          (err: unknown) => {
            setSaved(undefined);
            setError(message(err));
          },
        );
      }}
    >
      <h2>Failure rules</h2>
      <p class="hint">
        One per line, <code>PATTERN=CODE TEXT</code>, e.g. <code>*@bounce.test=550 5.1.1 User unknown</code>.
        A recipient that matches gets that answer instead of being delivered; 5xx fails it (a report is sent),
        4xx defers it.
      </p>
      <label for="rules-text" class="sr-only">
        Failure rules
      </label>
      <textarea
        id="rules-text"
        rows={6}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        spellcheck={false}
      />
      <div class="actions">
        <button type="submit" class="primary">
          Save rules
        </button>
      </div>
      <ErrorLine error={error} />
      {saved ? (
        <p class="notice" role="status">
          {saved}
        </p>
      ) : null}
    </form>
  );
}

function Counters() {
  const [values, setValues] = useState<{ name: string; label: string; value: number }[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const load = () =>
      request('/metrics')
        .then((r) => r.text())
        .then(
          (t) => {
            setValues(counters(t));
            setError(undefined);
          },
          (e: unknown) => setError(message(e)),
        );
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section aria-label="counters">
      <h2>Counters</h2>
      <ErrorLine error={error} />
      <div class="counters">
        {COUNTERS.map(([name, title]) => {
          const rows = values?.filter((v) => v.name === name) ?? [];
          const total = rows.reduce((a, r) => a + r.value, 0);
          return (
            <div class="counter" key={name}>
              <div class="value">{values ? count(total) : '…'}</div>
              <div class="title">{title}</div>
              <div class="meta">
                {rows
                  .filter((r) => r.label)
                  .map((r) => `${r.label}: ${count(r.value)}`)
                  .join(' · ')}
              </div>
            </div>
          );
        })}
      </div>
    </section>
  );
}

export function SettingsView() {
  const [settings, setSettings] = useState<Setting[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    getJson<{ settings: Setting[] }>('/api/v1/settings').then(
      (r) => setSettings(r.settings),
      (e: unknown) => setError(message(e)),
    );
  }, []);
  return (
    <div class="settings">
      <Counters />
      <Rules />
      <section aria-label="settings">
        <h2>Settings in force</h2>
        <ErrorLine error={error} />
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Setting</th>
              <th scope="col">Value</th>
              <th scope="col">Default</th>
              <th scope="col">What it does</th>
            </tr>
          </thead>
          <tbody>
            {settings?.map((s) => {
              const value = Array.isArray(s.value)
                ? s.value.join(', ')
                : s.value === null
                  ? 'none'
                  : String(s.value);
              return (
                <tr key={s.key} class={value !== s.default ? 'changed' : ''}>
                  <td>
                    <code>{s.flag}</code>
                  </td>
                  <td>{value}</td>
                  <td>{s.default}</td>
                  <td>{s.description}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </div>
  );
}
