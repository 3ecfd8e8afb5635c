/** pg's own reader of ~/.pgpass (PGPASSFILE), which ships no types. */
declare module 'pgpass' {
  function pgpass(info: { host?: string; port?: number; database?: string; user?: string }, cb: (password: string | undefined) => void): void;
  export default pgpass;
}
