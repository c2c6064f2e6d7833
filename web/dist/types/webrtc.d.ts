import { Conn, OpenOptions } from "./transport";
/** GatherMs bounds the wait for ICE gathering before the offer is posted. */
export declare const GatherMs = 40;
/** openWebRTC negotiates a peer connection with the server and opens both channels. */
export declare function openWebRTC(o: OpenOptions): Promise<Conn>;
