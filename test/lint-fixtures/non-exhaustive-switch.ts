// Bad on purpose: a switch over a union that forgot a member.
type RunState = { kind: 'preparing' } | { kind: 'running' } | { kind: 'done' };

export function describeState(s: RunState): string {
  switch (s.kind) {
    case 'preparing':
      return 'getting ready';
    case 'running':
      return 'running';
  }
  return 'unknown';
}
