// One throwaway MongoDB-compatible server for the run (the launch-limit test keeps sessions there).
import { setupTestServer } from "@neosc/db/testing";

export default setupTestServer;
