import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import type { DriveInfo } from '../services.js';
import { bytes, clip } from '../components.js';

export const drivesKeys = (typing: boolean) => (typing ? 'type the folder, [Enter] use it, [Esc] cancel' : '[↑/↓] choose  [Enter] use this drive  [t] type a path  [Esc] back');

export interface PickerState {
  index: number;
  typing: boolean;
  typed: string;
}

/** Choose a drive from the plausible ones, or type its folder. (Keys are handled by the App.) */
export function DrivePicker(props: { drives: DriveInfo[]; purpose: string; state: PickerState }) {
  const { index, typing, typed } = props.state;
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
