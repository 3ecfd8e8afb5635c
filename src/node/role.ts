/**
 * A node's role decided in one place: what a node is, and what it trusts. Use these instead of
 * comparing role strings, so that a third role (or a hub that is also a relay) changes here.
 */
import type { Role } from '../format/identity.js';

interface HasRole {
  role: Role;
}

/** Type guards: they also narrow a result that is a hub's or a facility's (ImportResult, StatusResult). */
export const isHub = <T extends HasRole>(x: T): x is T & { role: 'hub' } => x.role === 'hub';
export const isFacility = <T extends HasRole>(x: T): x is T & { role: 'facility' } => x.role === 'facility';

/** The role of the peers a node of this role trusts: a facility its one hub, a hub its facilities. */
export const peerRoleOf = (role: Role): Role => (role === 'facility' ? 'hub' : 'facility');
