// Regenerates src/api/schema.d.ts from the API's OpenAPI document.
//   npm run gen:api -- <file.json | http(s)://host/api/v1/openapi.json>
// With no argument it reads ../../.podium/openapi.json. tests/console/test_api_types.py runs the same
// generator on the app's current OpenAPI and fails when the committed file differs.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const source = process.argv[2] ?? path.resolve(root, "../../.podium/openapi.json");
const bin = path.resolve(root, "node_modules/.bin/openapi-typescript");
execFileSync(bin, [source, "-o", path.resolve(root, "src/api/schema.d.ts")], { stdio: "inherit" });
