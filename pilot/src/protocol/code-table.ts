/** A `{ NAME: code }` table of the protocol (error codes, range statuses) read backwards: a code's name, or undefined. */
export function nameOfCode<Name extends string>(table: Readonly<Record<Name, number>>): (code: number) => Name | undefined {
  const byCode = new Map<number, Name>((Object.entries(table) as [Name, number][]).map(([name, code]) => [code, name]));
  return (code) => byCode.get(code);
}
