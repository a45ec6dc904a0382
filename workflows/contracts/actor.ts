// Who asked: the API key's id (null for the system or a key since deleted), the key's name, and the person (user)
// the key belongs to. `user` is absent in runs recorded before keys had users; four eyes compares users.
import { Type, type Static } from '@sinclair/typebox';

export const ActorSchema = Type.Object({
  keyId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  user: Type.Optional(Type.String()),
});
export type Actor = Static<typeof ActorSchema>;

/** The requester's user: the actor's user, a system actor's name (`system:monitor`), or unknown (older runs). */
export function requesterUserOf(actor: Actor): string | undefined {
  return actor.user ?? (actor.keyId === null ? actor.name : undefined);
}
