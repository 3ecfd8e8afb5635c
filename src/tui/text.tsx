/**
 * The TUI's only Text: ink's, with every string child made visible first. Screens show data from
 * drives, bundles, EMRs and identity cards; ink passes escape sequences through to the terminal
 * (a patient name could retitle the window or clear the screen), so no string reaches ink raw.
 * ferry's own screen text has no control characters, so nothing of it changes.
 */
import React from 'react';
import { Text as InkText, type TextProps } from 'ink';
import { visible } from '../core/visible-text.js';

const visibleChild = (c: React.ReactNode): React.ReactNode => (typeof c === 'string' ? visible(c) : c);

export function Text({ children, ...props }: TextProps) {
  return <InkText {...props}>{Array.isArray(children) ? React.Children.map(children, visibleChild) : visibleChild(children)}</InkText>;
}
