// mongosh script of the mongo-init Job, connected to mongo-0 as root. Idempotent: initiates the
// replica set unless it exists, waits for a primary, creates the API's user unless it exists.
// biome-ignore-all lint/style/noProcessEnv: the Job passes its settings as environment variables.
const setName = process.env.MONGO_REPLICA_SET;
const members = (process.env.MONGO_MEMBERS ?? "").split(",").filter(Boolean);
const username = process.env.NEOSC_MONGO_USERNAME;
const password = process.env.NEOSC_MONGO_PASSWORD;
if (!setName || members.length === 0 || !username || !password) {
  throw new Error(
    "MONGO_REPLICA_SET, MONGO_MEMBERS, NEOSC_MONGO_USERNAME and NEOSC_MONGO_PASSWORD are required",
  );
}

let initiated = true;
try {
  rs.status();
} catch (error) {
  if (error.codeName !== "NotYetInitialized") throw error;
  initiated = false;
}
if (!initiated) {
  // mongo-0 gets the highest priority so it is the primary this script keeps talking to.
  rs.initiate({
    _id: setName,
    members: members.map((host, index) => ({ _id: index, host, priority: index === 0 ? 2 : 1 })),
  });
  print(`initiated replica set ${setName} with ${members.join(", ")}`);
}

let waited = 0;
while (!db.hello().isWritablePrimary) {
  if (waited >= 180) throw new Error("no primary after 180 s");
  sleep(1000);
  waited += 1;
}

const neosc = db.getSiblingDB("neosc");
if (neosc.getUser(username) === null) {
  neosc.createUser({
    user: username,
    pwd: password,
    roles: [{ role: "readWrite", db: "neosc" }],
    writeConcern: { w: "majority" },
  });
  print(`created user ${username}`);
}
