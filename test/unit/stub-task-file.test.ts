import { describe, expect, it } from 'vitest';
import { parseTaskFile } from '../../server-stub/src/model/task-file.js';

const errorsOf = (value: unknown): string[] => {
  const r = parseTaskFile(value);
  if (r.ok) throw new Error('expected the file to be refused');
  return r.errors;
};

describe('parseTaskFile: valid files', () => {
  it('fills task defaults into jobs and lets a job override them', () => {
    const r = parseTaskFile({
      name: 't1',
      site: 'LOCAL_Rubin',
      memoryMB: 3000,
      jobs: [
        { name: 'a', command: 'echo a' },
        { name: 'b', command: 'echo b', memoryMB: 9000, cores: 4, walltimeSec: 60 },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec.workflow).toBeNull();
    const [task] = r.spec.tasks;
    expect(task).toMatchObject({ name: 't1', label: 'managed', cores: 1, maxAttempts: 1, priority: 500, after: [] });
    expect(task?.jobs).toEqual([
      { name: 'a', command: 'echo a', cores: 1, memoryMB: 3000, walltimeSec: 3600 },
      { name: 'b', command: 'echo b', cores: 4, memoryMB: 9000, walltimeSec: 60 },
    ]);
  });

  it('expands command + count with {index}', () => {
    const r = parseTaskFile({ name: 'many', site: 'S', command: 'sleep 0; echo {index} {index}', count: 3 });
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.spec.tasks[0]?.jobs.map((j) => [j.name, j.command])).toEqual([
      ['job_0', 'sleep 0; echo 0 0'],
      ['job_1', 'sleep 0; echo 1 1'],
      ['job_2', 'sleep 0; echo 2 2'],
    ]);
  });

  it('orders a workflow so dependencies come first', () => {
    const r = parseTaskFile({
      workflow: 'wf',
      tasks: [
        { name: 'c', site: 'S', command: 'c', after: ['b'] },
        { name: 'a', site: 'S', command: 'a' },
        { name: 'b', site: 'S', command: 'b', after: ['a'] },
      ],
    });
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.spec.workflow).toBe('wf');
    expect(r.spec.tasks.map((t) => t.name)).toEqual(['a', 'b', 'c']);
  });
});

describe('parseTaskFile: errors name the field', () => {
  it('missing site and bad types', () => {
    const errors = errorsOf({ name: 't', cores: 0, memoryMB: 'lots', jobs: [{ name: 'a', command: 'x' }] });
    expect(errors.some((e) => e.startsWith('site:'))).toBe(true);
    expect(errors.some((e) => e.startsWith('cores:'))).toBe(true);
    expect(errors.some((e) => e.startsWith('memoryMB:'))).toBe(true);
  });

  it('a bad job inside a workflow task', () => {
    const errors = errorsOf({ workflow: 'w', tasks: [{ name: 'a', site: 'S', jobs: [{ name: 'ok', command: '' }] }] });
    expect(errors).toEqual([expect.stringMatching(/^tasks\[0\]\.jobs\[0\]\.command: /)]);
  });

  it('unknown keys (typos) are refused', () => {
    expect(errorsOf({ name: 't', site: 'S', command: 'x', memroyMB: 10 }).join()).toMatch(/memroyMB/);
  });

  it('jobs and command together, or neither', () => {
    expect(errorsOf({ name: 't', site: 'S', command: 'x', jobs: [{ name: 'a', command: 'y' }] })).toEqual([
      expect.stringMatching(/^command: give either jobs or command/),
    ]);
    expect(errorsOf({ name: 't', site: 'S' })).toEqual([expect.stringMatching(/^jobs: /)]);
    expect(errorsOf({ name: 't', site: 'S', jobs: [{ name: 'a', command: 'y' }], count: 2 })).toEqual([expect.stringMatching(/^count: /)]);
  });

  it('names that would break file names', () => {
    expect(errorsOf({ name: '../etc', site: 'S', command: 'x' })[0]).toMatch(/^name: /);
  });

  it('duplicate names, unknown dependencies, self-dependency, cycles', () => {
    expect(
      errorsOf({
        name: 't',
        site: 'S',
        jobs: [
          { name: 'a', command: 'x' },
          { name: 'a', command: 'y' },
        ],
      }),
    ).toEqual(['tasks[0].jobs[1].name: duplicate job name "a" in task "t"']);
    expect(errorsOf({ workflow: 'w', tasks: [{ name: 'a', site: 'S', command: 'x', after: ['nope'] }] })).toEqual([
      'tasks[0].after[0]: no task named "nope" in this workflow',
    ]);
    expect(errorsOf({ workflow: 'w', tasks: [{ name: 'a', site: 'S', command: 'x', after: ['a'] }] })[0]).toMatch(/itself/);
    expect(
      errorsOf({
        workflow: 'w',
        tasks: [
          { name: 'a', site: 'S', command: 'x', after: ['b'] },
          { name: 'b', site: 'S', command: 'x', after: ['a'] },
        ],
      }),
    ).toEqual(['tasks: the after dependencies form a cycle']);
  });

  it('after is only for workflow tasks', () => {
    expect(errorsOf({ name: 't', site: 'S', command: 'x', after: [] }).join()).toMatch(/after/);
  });

  it('not an object at all', () => {
    expect(errorsOf([1, 2]).length).toBeGreaterThan(0);
    expect(errorsOf('hello').length).toBeGreaterThan(0);
  });
});
