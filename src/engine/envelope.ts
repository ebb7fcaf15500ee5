// The queue message: the producer builds it, the consumer parses it with the
// same schema.
import * as z from "zod";

export const envelopeSchema = z.object({
	id: z.uuid(),
	name: z.string().min(1).max(200),
	input: z.unknown(),
});

export type Envelope = z.infer<typeof envelopeSchema>;
