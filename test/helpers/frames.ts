/** Reading ink's test renderer: React 19 renders asynchronously, so tests wait for frames. */
export const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));

/** Poll the last frame until it shows `text` (or give up after 8 s and return what is there). */
export async function until(ui: { lastFrame: () => string | undefined }, text: string): Promise<string> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const f = ui.lastFrame() ?? '';
    if (f.includes(text) || Date.now() > deadline) return f;
    await tick(15);
  }
}
