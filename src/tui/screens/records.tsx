/**
 * Records travel back, in the TUI: at the hub, a form to send a facility's record to another (a
 * dry run shows what would travel before anything is queued) and what waits for each facility;
 * at a facility, a form to ask the hub for a record, and the records received.
 */
import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import type { FacilityStatus, HubStatus } from '../../roles/status.js';
import type { SendResult } from '../../hub/send.js';
import { clip, n, when } from '../components.js';

export type FormKind = 'send' | 'request';

export interface FormState {
  kind: FormKind;
  values: string[];
  index: number;
  /** send: the dry run of what the form names, waiting for [y] */
  plan?: SendResult;
}

/** Each form's fields, in order; the last Enter submits. */
export const FORM_FIELDS: Record<FormKind, Array<{ label: string; hint: string }>> = {
  send: [
    { label: 'To facility', hint: 'the facility that now treats the patient, e.g. RW-021' },
    { label: 'From facility', hint: 'the facility the record comes from, e.g. RW-017' },
    { label: 'Table', hint: 'the table of the record, e.g. patient' },
    { label: 'Key or COL=VAL', hint: 'its key (5), or one column: identifier=RW-MUH-017-000005' },
    { label: 'Reason', hint: 'why (kept in the audit log)' },
  ],
  request: [
    { label: 'Table', hint: 'the table that holds the value, e.g. patient_identifier' },
    { label: 'Column', hint: 'e.g. identifier' },
    { label: 'Value', hint: "as on the patient's card, e.g. RW-MUH-017-000005" },
    { label: 'Reason', hint: 'why (kept in the audit logs)' },
  ],
};

export const formKeys = (f: FormState) =>
  f.plan ? '[y] send it  [n] change the form  [Esc] cancel' : '[type] fill in  [↑/↓] field  [Enter] next / done  [Esc] cancel';

/** `problem`: why the last try was refused, in full (it says what to do); the form keeps what was typed. */
export function Form({ f, problem }: { f: FormState; problem?: string | undefined }) {
  const fields = FORM_FIELDS[f.kind];
  return (
    <Box flexDirection="column">
      <Text bold>{f.kind === 'send' ? "Send a facility's record to another facility" : 'Ask the hub for a record'}</Text>
      <Text>
        {f.kind === 'send'
          ? 'The record and what belongs to it (through the EMR\'s foreign keys) go on the next export, and later changes follow.'
          : 'The request goes on the next export, signed and sealed to the hub; the record comes back on a later drive.'}
      </Text>
      <Text> </Text>
      {fields.map((field, i) => (
        <Text key={field.label} inverse={i === f.index && !f.plan} wrap="truncate-end">{`${i === f.index ? '>' : ' '} ${field.label.padEnd(15)} ${f.values[i] ?? ''}${i === f.index && !f.plan ? '_' : ''}`}</Text>
      ))}
      <Text> </Text>
      {f.plan ? (
        <Box flexDirection="column">
          <Text bold>{`Would send ${f.plan.origin}'s ${f.plan.table} record to ${f.plan.to}: ${n(f.plan.rows)} row(s) now`}</Text>
          {Object.entries(f.plan.tables).slice(0, 6).map(([t, rows]) => (
            <Text key={t}>{`  ${clip(t, 24)} ${n(rows).padStart(7)} row(s)`}</Text>
          ))}
        </Box>
      ) : (
        <Text>{fields[f.index]?.hint ?? ''}</Text>
      )}
      {problem ? (
        <>
          <Text> </Text>
          <Text bold>{`Not done: ${problem}`}</Text>
        </>
      ) : null}
    </Box>
  );
}

/** A facility's records received: from which facility, which table, how many rows, when. */
export function Received({ s, offset }: { s: FacilityStatus; offset: number }) {
  if (s.received.length === 0) return <Text>{`Nothing received yet. Rows the hub sends this facility go to ${s.received_db}, never into the EMR.`}</Text>;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">{`Records received, in ${s.received_db}`}</Text>
      <Text bold>{'  from            table                         rows  last received'}</Text>
      {s.received.slice(offset, offset + 14).map((r) => (
        <Text key={`${r.origin}/${r.table}`} wrap="truncate-end">{`  ${clip(r.scope === 'shared' ? '(shared)' : r.origin, 15)} ${clip(r.table, 26)} ${n(r.rows).padStart(7)}  ${when(r.last_received)}`}</Text>
      ))}
    </Box>
  );
}

/** The hub's outgoing rows, per facility: what waits for its receipt, what it confirmed, its sends. */
export function Outgoing({ s }: { s: HubStatus }) {
  if (s.outgoing.length === 0) return <Text>Nothing sent to facilities yet. [s] sends a record; shared tables go to every facility on export ([e]).</Text>;
  return (
    <Box flexDirection="column">
      <Text bold>{'  facility          waiting  confirmed  sends  last bundle       last receipt'}</Text>
      {s.outgoing.slice(0, 14).map((o) => (
        <Text key={o.recipient} wrap="truncate-end">{`  ${clip(o.recipient, 15)} ${n(o.waiting).padStart(9)} ${n(o.acknowledged).padStart(10)} ${String(o.sends).padStart(6)}  ${o.last_bundle_at ? when(o.last_bundle_at) : 'never'.padEnd(16)}  ${o.last_ack_at ? when(o.last_ack_at) : 'never'}`}</Text>
      ))}
    </Box>
  );
}
