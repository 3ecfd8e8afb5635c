/** Start the terminal UI; resolves with the exit code when the user quits. */
import React from 'react';
import { render } from 'ink';
import { App } from './app.js';
import type { TuiServices } from './services.js';

export async function renderTui(services: TuiServices): Promise<number> {
  let code = 0;
  const instance = render(<App services={services} onExit={(c) => (code = c)} />, { exitOnCtrlC: false, patchConsole: false });
  await instance.waitUntilExit();
  return code;
}
