import { interpolate, parseCompose } from './compose-file';
import { execForm, imageConfig, parseDockerfile, parseEnv } from './dockerfile';

describe('interpolate, as compose does', () => {
  it('substitutes defaults when unset or empty, and only when unset for the dash form', () => {
    expect(interpolate('${A:-3}', {})).toBe('3');
    expect(interpolate('${A:-3}', { A: '' })).toBe('3');
    expect(interpolate('${A:-3}', { A: '5' })).toBe('5');
    expect(interpolate('${A-3}', { A: '' })).toBe('');
    expect(interpolate('${A-3}', {})).toBe('3');
    expect(interpolate('${A:-}', {})).toBe('');
    expect(interpolate('x${A}y$A', { A: '1' })).toBe('x1y1');
    expect(interpolate('${A}', {})).toBe('');
    expect(interpolate('${A:-http://leader:8000}', {})).toBe('http://leader:8000');
  });

  it('keeps $$ as a literal dollar and rejects what compose rejects', () => {
    expect(interpolate('a$$b', { b: 'no' })).toBe('a$b');
    expect(() => interpolate('${A:?set A}', {})).toThrow(/A is missing: set A/);
    expect(interpolate('${A?set A}', { A: '' })).toBe('');
    expect(() => interpolate('cost $5', {})).toThrow(/invalid interpolation/);
    expect(() => interpolate('${A:+x}', {})).toThrow(/invalid interpolation/);
  });
});

describe('parseCompose', () => {
  const text = `
x-common: &common
  image: img
  environment: { SHARED: "\${S:-d}" }
services:
  a:
    <<: *common
    command: node dist/a.js
    environment:
      - PLAIN=1
      - PASSED
      - EMPTY=
    ports: ["127.0.0.1:8001:8000/tcp", "9000", { target: 7000, published: 7001 }]
    volumes: ["a-data:/data", "./conf:/conf", { type: volume, source: b, target: /b }]
    depends_on: [b]
    healthcheck: { test: ["CMD", "node", "-e", "x('/health')"] }
  b:
    <<: *common
    depends_on: { a: { condition: service_healthy } }
    healthcheck: { disable: true }
volumes: { a-data: {} }
`;

  it('reads both syntaxes of environment, ports, volumes and depends_on, with merge keys', () => {
    const [a, b] = parseCompose(text, { PASSED: 'p' }).services;
    expect(a.environment).toEqual({ PLAIN: '1', PASSED: 'p', EMPTY: '' });
    expect(b.environment).toEqual({ SHARED: 'd' });
    expect(a.command).toEqual(['node', 'dist/a.js']);
    expect(b.command).toBeNull();
    expect(a.ports).toEqual([
      { hostIp: '127.0.0.1', published: 8001, target: 8000 },
      { hostIp: null, published: null, target: 9000 },
      { hostIp: null, published: 7001, target: 7000 },
    ]);
    expect(a.volumes).toEqual([
      { type: 'volume', source: 'a-data', target: '/data' },
      { type: 'bind', source: './conf', target: '/conf' },
      { type: 'volume', source: 'b', target: '/b' },
    ]);
    expect(a.dependsOn).toEqual({ b: 'service_started' });
    expect(b.dependsOn).toEqual({ a: 'service_healthy' });
    expect(a.healthcheck).toBe("CMD node -e x('/health')");
    expect(b.healthcheck).toBe('NONE');
  });

  it('drops a passed-through variable the shell does not set', () => {
    expect(parseCompose(text, {}).services[0].environment).toEqual({ PLAIN: '1', EMPTY: '' });
  });
});

describe('parseDockerfile', () => {
  const stages = parseDockerfile(`# syntax comment
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV A=1 B="two words"
COPY . .
RUN npx nx build \\
  # a comment inside a continuation
  --projects=x

FROM build AS final
WORKDIR sub
ENV LEGACY some value
COPY --from=build /app/dist ./dist
USER node
HEALTHCHECK --interval=5s CMD ["node", "-e", "fetch('/health')"]
CMD node dist/x.js
`);

  it('reads stages, workdirs, continuations, ENV forms, USER, HEALTHCHECK and CMD', () => {
    expect(stages.map((s) => [s.base, s.name])).toEqual([
      ['node:20-bookworm-slim', 'build'],
      ['build', 'final'],
    ]);
    expect(stages[0].instructions.find((i) => i.keyword === 'RUN')?.args).toBe('npx nx build --projects=x');
    const image = imageConfig(stages[1]);
    expect(image).toEqual({
      workdir: '/app/sub',
      env: { LEGACY: 'some value' },
      user: 'node',
      cmd: ['/bin/sh', '-c', 'node dist/x.js'],
      entrypoint: null,
      healthcheck: "node -e fetch('/health')",
    });
    expect(parseEnv('A=1 B="two words"')).toEqual({ A: '1', B: 'two words' });
    expect(execForm('["node", "a.js"]')).toEqual(['node', 'a.js']);
  });
});
