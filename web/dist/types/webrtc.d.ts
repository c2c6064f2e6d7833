import { Conn, OpenOptions } from "./transport";
/** openWebRTC negotiates a peer connection with the server and opens both channels. */
export declare function openWebRTC(o: OpenOptions): Promise<Conn>;
