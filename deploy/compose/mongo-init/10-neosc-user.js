// Runs once, on the first start with an empty data volume (the mongo image's initdb step), as the
// root user: creates the account the API uses, limited to read/write on the `neosc` database.
// biome-ignore-all lint/style/noProcessEnv: mongosh init scripts receive their settings from the environment.
const username = process.env.NEOSC_MONGO_USERNAME;
const password = process.env.NEOSC_MONGO_PASSWORD;
if (!username || !password) throw new Error("NEOSC_MONGO_USERNAME and NEOSC_MONGO_PASSWORD must be set");

const neosc = db.getSiblingDB("neosc");
if (neosc.getUser(username) === null) {
  neosc.createUser({ user: username, pwd: password, roles: [{ role: "readWrite", db: "neosc" }] });
}
