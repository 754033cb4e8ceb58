/**
 * C0 control characters and DEL: never allowed inside one header line or DSN field, where a CR or
 * LF from an upstream reply or a crafted Subject would start a field of its own.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the purpose
const CONTROL_RUNS = /[\x00-\x1f\x7f]+/g;

/** Every run of control characters as one space. */
export function controlsToSpace(text: string): string {
  return text.replace(CONTROL_RUNS, ' ');
}
