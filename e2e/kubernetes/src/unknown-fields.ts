/**
 * Unknown fields, which kubernetes-models' validators let through (a typo'd optional field
 * such as `readinesProbe` passes the schema and Kubernetes would drop it with a warning).
 * The field names come from the same package: its TypeScript declarations, one interface
 * per API type, read with the TypeScript checker and walked alongside each object.
 */
import path from 'node:path';
import ts from 'typescript';
import { isObject, type Json } from './manifests';

/** apiVersion/kind -> the declaration file and interface of kubernetes-models that types it. */
const DECLARATIONS: Readonly<Record<string, readonly [string, string]>> = {
  'apps/v1/StatefulSet': ['apps/v1/StatefulSet.d.ts', 'IStatefulSet'],
  'v1/Service': ['v1/Service.d.ts', 'IService'],
  'v1/ConfigMap': ['v1/ConfigMap.d.ts', 'IConfigMap'],
  'policy/v1/PodDisruptionBudget': ['policy/v1/PodDisruptionBudget.d.ts', 'IPodDisruptionBudget'],
};

/** Reads the declarations of every known kind once, with a TypeScript checker over them. */
export class FieldNames {
  private readonly checker: ts.TypeChecker;
  private readonly roots = new Map<string, ts.Type>();

  constructor(modelsDir: string) {
    const files = Object.values(DECLARATIONS).map(([file]) => path.join(modelsDir, file));
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2022,
      types: [],
      noEmit: true,
      skipLibCheck: true,
    });
    this.checker = program.getTypeChecker();
    for (const [type, [file, name]] of Object.entries(DECLARATIONS)) {
      const source = program.getSourceFile(path.join(modelsDir, file));
      const decl = source?.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
      if (!decl) throw new Error(`${file} declares no ${name}`);
      this.roots.set(type, this.checker.getTypeAtLocation(decl.name));
    }
  }

  /** Every field of `object` its kind does not declare, as `path is not a field`; null for a kind not known here. */
  unknownFields(object: Json): string[] | null {
    if (!isObject(object)) return null;
    const root = this.roots.get(`${String(object['apiVersion'])}/${String(object['kind'])}`);
    if (root === undefined) return null;
    const problems: string[] = [];
    this.walk(object, root, '', problems);
    return problems;
  }

  private walk(value: Json, declared: ts.Type, at: string, problems: string[]): void {
    let type = this.checker.getNonNullableType(declared);
    if (Array.isArray(value)) {
      const element = this.checker.getIndexTypeOfType(type, ts.IndexKind.Number);
      if (element !== undefined) value.forEach((v, i) => this.walk(v, element, `${at}[${i}]`, problems));
      return;
    }
    if (!isObject(value)) return;
    if (type.isUnion()) {
      // IntOrString and the like: walk into the one object member, if there is exactly one.
      const objects = type.types.filter((t) => t.getProperties().length > 0 || this.checker.getIndexInfosOfType(t).length > 0);
      if (objects.length !== 1) return;
      type = objects[0];
    }
    const index = this.checker.getIndexInfosOfType(type)[0];
    for (const [key, child] of Object.entries(value)) {
      const field = this.checker.getPropertyOfType(type, key);
      if (field !== undefined) this.walk(child, this.checker.getTypeOfSymbol(field), `${at}.${key}`, problems);
      else if (index !== undefined) this.walk(child, index.type, `${at}.${key}`, problems);
      else problems.push(`${at}.${key} is not a field of ${this.checker.typeToString(type)}`);
    }
  }
}
