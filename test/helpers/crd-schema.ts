import { readFileSync } from "node:fs";
import { load } from "js-yaml";

/**
 * A structural-schema check of objects against a real CRD's openAPIV3Schema: types,
 * required fields, enums and unknown fields (which `kubectl apply` refuses by default).
 */

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

/** The schemas, by version, of a CRD file. */
export function crdSchemas(file: string): Map<string, Schema> {
  const crd = load(readFileSync(file, "utf8")) as {
    spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
  };
  return new Map(crd.spec.versions.map((v) => [v.name, v.schema.openAPIV3Schema]));
}

export function schemaErrors(schema: Schema, value: unknown, path = ""): string[] {
  const errors: string[] = [];
  const here = path || "<root>";
  switch (schema.type) {
    case "object": {
      if (value === null || typeof value !== "object" || Array.isArray(value))
        return [`${here}: expected object`];
      const obj = value as Record<string, unknown>;
      for (const key of schema.required ?? [])
        if (!(key in obj)) errors.push(`${here}: missing required ${key}`);
      for (const [key, v] of Object.entries(obj)) {
        const sub = schema.properties?.[key];
        if (sub) errors.push(...schemaErrors(sub, v, `${path}.${key}`));
        else if (schema.properties && !schema["x-kubernetes-preserve-unknown-fields"]) {
          errors.push(`${path}.${key}: unknown field`);
        }
      }
      return errors;
    }
    case "array":
      if (!Array.isArray(value)) return [`${here}: expected array`];
      return value.flatMap((v, i) =>
        schema.items ? schemaErrors(schema.items, v, `${path}[${i}]`) : [],
      );
    case "string":
      if (typeof value !== "string") return [`${here}: expected string`];
      break;
    case "integer":
      if (!Number.isInteger(value)) return [`${here}: expected integer`];
      break;
    case "boolean":
      if (typeof value !== "boolean") return [`${here}: expected boolean`];
      break;
  }
  if (schema.enum && !schema.enum.includes(value))
    errors.push(`${here}: ${String(value)} not in enum`);
  return errors;
}
