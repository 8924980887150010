// SPDX-License-Identifier: Apache-2.0
// node-version.mjs - imported first by the harness's programs: a clear
// message and exit status 2 on a Node.js too old for the pinned modules
// (oidc-provider 8, playwright-core 1.61), before they fail obscurely.
const MIN = 18;
const major = Number(process.versions.node.split('.')[0]);
if (major < MIN) {
	process.stderr.write(`${process.argv[1] ?? 'node'}: Node.js ${MIN} ` +
		`or later is needed, this is ${process.version} ` +
		`(${process.execPath})\n`);
	process.exit(2);
}
