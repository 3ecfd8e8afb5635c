/** Small building blocks shared by the screens. Meaning is always in the text, never colour alone. */
import React from 'react';
import { Box } from 'ink';
import { Text } from './text.js';
import { count, size } from '../core/format-numbers.js';
import { visible } from '../core/visible-text.js';

export const WIDTH = 80;

/** The frame's height at least: title, body, status line and keys, within 80×24. */
const FRAME_LINES = 22;

/** `keys` on two lines when one would not fit 80 columns: the body gives up a line, so the frame stays 22 lines. */
export function Frame(props: { title: string; keys: string | [string, string]; children?: React.ReactNode; status?: string }) {
  const keys = typeof props.keys === 'string' ? [props.keys] : props.keys;
  return (
    <Box flexDirection="column" width={WIDTH}>
      <Text bold inverse>{visible(` ferry · ${props.title}`).padEnd(WIDTH).slice(0, WIDTH)}</Text>
      <Box flexDirection="column" minHeight={FRAME_LINES - 2 - keys.length}>
        {props.children}
      </Box>
      {props.status ? <Text>{visible(props.status).slice(0, WIDTH)}</Text> : <Text> </Text>}
      {keys.map((k) => (
        <Text key={k} inverse>
          {visible(` ${k}`).padEnd(WIDTH).slice(0, WIDTH)}
        </Text>
      ))}
    </Box>
  );
}

export function Field(props: { label: string; children: React.ReactNode }) {
  return (
    <Box>
      <Box width={16} flexShrink={0}>
        <Text bold>{props.label}</Text>
      </Box>
      <Text wrap="truncate-end">{props.children}</Text>
    </Box>
  );
}

export function ProgressBar(props: { done: number; total: number; width?: number }) {
  const width = props.width ?? 40;
  const ratio = props.total > 0 ? Math.min(1, props.done / props.total) : 0;
  const filled = Math.round(ratio * width);
  return <Text>{`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%`}</Text>;
}

export const n = count;
/** A drive's free space may be unknown (statfs failed): shown as ?. */
export const bytes = (b: number | undefined) => (b === undefined ? '?' : size(b));
export const ago = (iso: string, now = Date.now()) => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : s < 172800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} days ago`;
};
export const when = (iso: string) => iso.replace('T', ' ').slice(0, 16);
/** Fit data into a column of width `w`, made visible first so that its escapes count in the width. */
export const clip = (text: string, w: number) => {
  const s = visible(text);
  return s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w);
};
