import Support

extension HTTPRequest {
    /// The audit entry for a change this request makes: its caller, their role and address, now.
    func auditEntry(_ action: String, messageID: Int64? = nil, detail: JSONValue? = nil, at time: Timestamp = .now()) -> AuditEntry {
        AuditEntry(at: time, actor: principal.name, role: principal.role.rawValue, address: clientAddress, action: action,
                   messageID: messageID, detail: detail, keyID: principal.keyID)
    }
}
