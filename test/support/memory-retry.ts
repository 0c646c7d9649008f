/**
 * The memory story the OOM tests share (test/e2e/oom-retry, the cgroup v2
 * guest's tests): a one-job task that asks for 100 MB, is allowed one retry,
 * and gets 3× (300 MB) for it; then both attempts as the stub recorded them.
 */
import { expect } from 'vitest';
import { stubApi } from './processes.js';

/** Submits the hungry task with `command` as its one job; returns its task id. */
export async function submitHungryTask(stubUrl: string, name: string, site: string, command: string): Promise<number> {
  const submitted = await stubApi(`${stubUrl}/stub/tasks`, 'POST', {
    name,
    site,
    memoryMB: 100,
    memoryBoost: 3,
    maxMemoryMB: 300,
    maxAttempts: 2,
    jobs: [{ name: 'hungry', command }],
  });
  return submitted.tasks[0].taskId as number;
}

/** The task's two attempts, the first first (the test fails unless there are exactly two). */
export async function bothAttempts(stubUrl: string, taskId: number): Promise<[any, any]> {
  const { jobs } = await stubApi(`${stubUrl}/stub/jobs?task=${taskId}`);
  expect(jobs).toHaveLength(2);
  const [first, second] = [...jobs].sort((a: any, b: any) => a.attemptNr - b.attemptNr);
  return [first, second];
}
