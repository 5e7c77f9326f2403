// A tiny check collector for the loader test pages: check(name, ok, detail) records; finish() writes
// {failures, checks} as JSON into <pre id="out"> for the Go test that reads the DOM.
export const results = { checks: 0, failures: [] };

export function check(name, ok, detail) {
  results.checks++;
  if (!ok) results.failures.push(detail === undefined ? name : `${name}: ${JSON.stringify(detail)}`);
}

export function equal(name, got, want) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  check(name, g === w, { got, want });
}

export async function rejects(name, promise, code) {
  try {
    await promise;
    check(name, false, 'resolved');
  } catch (err) {
    check(name, err instanceof Error && err.code === code && typeof err.description === 'string',
      { code: err && err.code, description: err && err.description, isError: err instanceof Error });
    return err instanceof Error ? err : new Error(String(err));
  }
  return new Error('resolved');
}

export function throwsType(name, fn) {
  try {
    fn();
    check(name, false, 'did not throw');
  } catch (err) {
    check(name, err instanceof TypeError, String(err));
  }
}

export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

export function finish(error) {
  if (error) results.failures.push(`page threw: ${error && error.stack || error}`);
  document.getElementById('out').textContent = JSON.stringify(results);
  document.title = 'done';
}
