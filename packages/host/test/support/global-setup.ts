// One database server for the whole run (or MONGO_URL); each test file makes its own database.
import { setupTestServer } from "@neosc/db/testing";

export default setupTestServer;
