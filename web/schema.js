// Typed namespaces (docs/schemas.md) in the console: the JSON editor asks the server, as you
// type (debounced), whether the value would pass the namespace's schema, so that violations are
// marked at their JSON path before saving. The server's dry run is the one validator: the
// console never re-implements JSON Schema.
import { post } from './api.js';
import { enc } from './dom.js';

/// A checker for jsonEditor's `check` option: (value) → Promise<violations[]> for ns and the key
/// `key()` returns at that moment (empty key: nothing to check yet).
export function schemaChecker(ns, key) {
  return async (value) => {
    const k = key();
    if (!k) return [];
    const data = await post(`/api/v1/admin/namespace/${enc(ns)}/schema/check`, { key: k, value });
    return data.violations ?? [];
  };
}

/// One line per violation: "/port  type: must be of type integer, not string".
export function violationText(v) {
  return `${v.path === '' ? '(value)' : v.path}  ${v.rule}: ${v.message}`;
}
