// Follows a namespace's SSE watch stream (/api/v1/config/watch/stream, docs/watch.md). fetch()
// rather than EventSource so the Bearer token can be sent. Reconnects after an error from the
// last revision seen; after `reset` (or a 40402) it asks the caller for a fresh start revision.
import { headers } from './api.js';

export function watchNamespace(ns, startRevision, { onChange, onReset, onState }) {
  let revision = startRevision;
  let stopped = false;
  let controller = null;
  let retryTimer = null;

  async function connect() {
    if (stopped) return;
    controller = new AbortController();
    const url = `/api/v1/config/watch/stream?namespace=${encodeURIComponent(ns)}&revision=${revision}&include_values=true`;
    try {
      const res = await fetch(url, { headers: headers(), signal: controller.signal });
      if (!res.ok) {
        let body = null;
        try { body = await res.json(); } catch { /* not an envelope */ }
        onState('off', `${body?.message ?? res.statusText}${body?.error?.details ? `: ${body.error.details}` : ''} (code ${body?.code ?? res.status})`);
        if (res.status === 404) return;  // disabled or deleted namespace: nothing to follow
        return retry();
      }
      onState('live', `following changes after revision ${revision}`);
      await read(res.body.getReader());
      if (!stopped) retry();
    } catch (e) {
      if (!stopped) {
        onState('off', `stream interrupted: ${e.message}`);
        retry();
      }
    }
  }

  async function read(reader) {
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const ev = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;  // heartbeat
          const i = line.indexOf(':');
          const name = i < 0 ? line : line.slice(0, i);
          const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (name === 'data') ev.data += val;
          else if (name === 'event') ev.event = val;
        }
        if (!ev.data) continue;
        const data = JSON.parse(ev.data);
        if (ev.event === 'change') {
          revision = Math.max(revision, data.revision);
          onChange(data);
        } else if (ev.event === 'reset') {
          revision = await onReset(data);
        }
      }
    }
  }

  function retry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, 2000);
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    controller?.abort();
  };
}
