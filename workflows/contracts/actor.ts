// Who asked: the API key's id (null for the system or a key since deleted) and its owner's name.
import { Type, type Static } from '@sinclair/typebox';

export const ActorSchema = Type.Object({ keyId: Type.Union([Type.String(), Type.Null()]), name: Type.String() });
export type Actor = Static<typeof ActorSchema>;
