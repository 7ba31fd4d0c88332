/** A cancellable one-shot timer; injected so tests can drive time by hand. */
export type SetTimer = (callback: () => void, delayMs: number) => { cancel(): void };

export const realTimer: SetTimer = (callback, delayMs) => {
  const handle = setTimeout(callback, delayMs);
  return { cancel: () => clearTimeout(handle) };
};
