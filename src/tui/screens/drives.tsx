import React, { useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { DriveInfo } from '../services.js';
import { bytes, clip } from '../components.js';

export const drivesKeys = (typing: boolean) => (typing ? 'type the folder, [Enter] use it, [Esc] cancel' : '[↑/↓] choose  [Enter] use this drive  [t] type a path  [Esc] back');

/** Choose a drive from the plausible ones, or type its folder. */
export function DrivePicker(props: { drives: DriveInfo[]; purpose: string; onPick: (path: string) => void; onBack: () => void; onTyping?: (typing: boolean) => void }) {
  const [index, setIndex] = useState(0);
  const [typing, setTyping] = useState(false);
  const [typed, setTyped] = useState('');
  // Mode and text live in refs too: a key typed before the handler is re-subscribed must see them.
  const mode = useRef({ typing, typed, index });
  mode.current = { ...mode.current, index };
  const setMode = (t: boolean) => {
    mode.current.typing = t;
    setTyping(t);
    props.onTyping?.(t);
  };
  const setText = (text: string) => {
    mode.current.typed = text;
    setTyped(text);
  };
  useInput((input, key) => {
    const { typing, typed, index } = mode.current;
    if (typing) {
      if (key.escape) setMode(false);
      else if (key.return) {
        if (typed.trim()) props.onPick(typed.trim());
      } else if (key.backspace || key.delete) setText(typed.slice(0, -1));
      else if (input && !key.ctrl && !key.meta) setText(typed + input);
      return;
    }
    if (key.escape) props.onBack();
    else if (key.upArrow) setIndex((i) => Math.max(0, i - 1));
    else if (key.downArrow) setIndex((i) => Math.min(props.drives.length - 1, i + 1));
    else if (key.return && props.drives[index]) props.onPick(props.drives[index]!.path);
    else if (input === 't') setMode(true);
  });
  return (
    <Box flexDirection="column">
      <Text bold>{`Choose the drive ${props.purpose}`}</Text>
      <Text> </Text>
      {props.drives.length === 0 ? <Text>No drives found under the usual places (/media, /run/media, /mnt). Press [t] to type its folder.</Text> : null}
      {props.drives.slice(0, 12).map((d, i) => (
        <Text key={d.path} inverse={i === index && !typing}>
          {`${i === index ? '>' : ' '} ${clip(d.path, 40)} ${bytes(d.freeBytes).padStart(9)} free  ${d.bundles} bundle(s), ${d.acks} ack(s)`}
        </Text>
      ))}
      {typing ? (
        <Box marginTop={1}>
          <Text>{`Folder: ${typed}_`}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
