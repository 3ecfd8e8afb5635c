import React from 'react';
import { Box } from 'ink';
import { Text } from '../text.js';
import type { PublicIdentity } from '../../format/identity.js';
import type { StatusResult } from '../../roles/status.js';
import { clip } from '../components.js';
import { isHub } from '../../node/role.js';

export interface PeersState {
  mode: 'list' | 'cards' | 'confirm-trust' | 'confirm-revoke';
  index: number;
  cards: string[];
  card?: { path: string; identity?: PublicIdentity; error?: string };
  message?: string;
}

export const peersKeys = (s: PeersState, status: StatusResult | undefined) =>
  s.mode === 'list'
    ? `[t] trust a card from a drive${status && isHub(status) ? '  [↑/↓] choose  [v] revoke' : ''}  [Esc] back`
    : s.mode === 'cards'
      ? '[↑/↓] choose a card  [Enter] check it  [Esc] back'
      : '[y] yes, the fingerprint matches  [n] no  [Esc] back';

export function Peers({ status, me, s }: { status: StatusResult; me: PublicIdentity; s: PeersState }) {
  const peers = isHub(status) ? status.facilities : status.hub ? [status.hub] : [];
  return (
    <Box flexDirection="column">
      <Text bold>{`This node: ${me.id} (${me.role})`}</Text>
      <Text>{`Fingerprint to read aloud: ${me.fingerprint}`}</Text>
      <Text> </Text>
      {s.mode === 'list' ? (
        <Box flexDirection="column">
          <Text bold>{isHub(status) ? 'Enrolled facilities' : 'Trusted hub'}</Text>
          {peers.length === 0 ? <Text>  none yet: press [t] to trust a card found on a drive</Text> : null}
          {peers.slice(0, 10).map((p, i) => (
            <Text key={p.id} inverse={isHub(status) && i === s.index}>{`${isHub(status) && i === s.index ? '>' : ' '} ${clip(p.id, 14)} ${p.fingerprint}  ${p.revoked ? `REVOKED ${p.revoked.at.slice(0, 10)}` : 'trusted'}`}</Text>
          ))}
        </Box>
      ) : null}
      {s.mode === 'cards' ? (
        <Box flexDirection="column">
          <Text bold>Identity cards (*.card.json) found on the drives</Text>
          {s.cards.length === 0 ? <Text>  none found: copy the peer's card to the drive's top folder</Text> : null}
          {s.cards.slice(0, 10).map((c, i) => (
            <Text key={c} inverse={i === s.index}>{`${i === s.index ? '>' : ' '} ${clip(c, 74)}`}</Text>
          ))}
        </Box>
      ) : null}
      {s.mode === 'confirm-trust' && s.card ? (
        s.card.error ? (
          <Text>{`This card cannot be used: ${s.card.error}`}</Text>
        ) : (
          <Box flexDirection="column">
            <Text>{`Card of ${s.card.identity!.role} ${s.card.identity!.id} (${s.card.identity!.name})`}</Text>
            <Text bold>{`Fingerprint: ${s.card.identity!.fingerprint}`}</Text>
            <Text> </Text>
            <Text>Phone the peer and ask them to read their fingerprint aloud.</Text>
            <Text>Does it match the one above, character for character?</Text>
          </Box>
        )
      ) : null}
      {s.mode === 'confirm-revoke' && isHub(status) && status.facilities[s.index] ? (
        <Text>{`Revoke ${status.facilities[s.index]!.id}? Its bundles will be refused from now on. [y] revoke  [n] keep`}</Text>
      ) : null}
      {s.message ? (
        <Box marginTop={1}>
          <Text bold>{s.message}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
