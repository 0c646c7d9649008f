// Bad on purpose: a promise nobody awaits (its rejection would end the pilot).
async function sendFinalUpdate(): Promise<void> {
  await Promise.resolve();
}

export function finishJob(): void {
  sendFinalUpdate();
}
